import { SEVERITIES, type StoredRecord } from '../../protocol/index.js';
import { openDatabase } from '../../collector/store/database.js';
import { createBatchWriter } from '../../collector/store/writer.js';

/**
 * A synthetic store for `npm run bench` and the HTTP API's measurements: records spread evenly over
 * a time span, across facilities, all severities and hosts, stored by the collector's own writer.
 * Seeded, so two runs build the same store. A bench fixture, not part of the product.
 */

export interface SyntheticOptions {
  records: number;
  /** Span of record times, ms, ending at `end` (default 7 days). */
  spanMs?: number;
  /** Newest record time (default now). */
  end?: number;
  /** Facilities (default 40: kern, auth, ... then app00..). */
  facilities?: number;
  hosts?: number;
  /** Every this-many-th record carries the rare word `zanzibar` (default 1 in 200,000). */
  rareEvery?: number;
  seed?: number;
  /** Rows per transaction (default 50,000). */
  batch?: number;
}

export const RARE_WORD = 'zanzibar';

/** HTTP statuses as a web tier spreads them: mostly 200, a few errors. */
export const SYNTHETIC_STATUSES = [200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 404, 500, 502, 503];

const BASE_FACILITIES = [
  'kern',
  'auth',
  'mail',
  'daemon',
  'cron',
  'user',
  'syslog',
  'local0',
  'local1',
  'nginx',
];
export const SYNTHETIC_WORDS = [
  'request',
  'served',
  'disk',
  'failure',
  'timeout',
  'connection',
  'reset',
  'user',
  'login',
  'cache',
  'miss',
  'retry',
  'queue',
  'flush',
  'started',
  'stopped',
  'error',
  'socket',
  'closed',
  'backend',
  'slow',
  'query',
  'memory',
  'pressure',
  'ok',
  'sda',
  'eth0',
  'token',
  'expired',
  'upstream',
];

export function syntheticFacilities(count: number): string[] {
  const out = BASE_FACILITIES.slice(0, count);
  for (let i = out.length; i < count; i++) out.push(`app${String(i).padStart(2, '0')}`);
  return out;
}

/** Creates (migrating) the store at `path` if needed and appends the records; returns the last seq. */
export function generateSyntheticStore(path: string, options: SyntheticOptions): number {
  const spanMs = options.spanMs ?? 7 * 86_400_000;
  const end = options.end ?? Date.now();
  const facilities = syntheticFacilities(options.facilities ?? 40);
  const hosts = Array.from({ length: options.hosts ?? 50 }, (_, i) => `web-${String(i).padStart(2, '0')}`);
  const rareEvery = options.rareEvery ?? 200_000;
  const batch = options.batch ?? 50_000;
  let state = (options.seed ?? 42) >>> 0;
  // mulberry32: tiny, fast and seeded
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // The collector's schema and writer; only durability is off, since a crash just means regenerate.
  const db = openDatabase(path, { cacheMb: 256 });
  try {
    db.pragma('synchronous = OFF');
    const writer = createBatchWriter(db);
    const start = (db.prepare('SELECT coalesce(max(seq), 0) FROM records').pluck().get() as number) + 1;

    let lastSeq = start - 1;
    for (let done = 0; done < options.records; done += batch) {
      const n = Math.min(batch, options.records - done);
      const records: StoredRecord[] = [];
      for (let i = 0; i < n; i++) {
        const index = done + i;
        // Times rise with the index (as ingest does) with a little jitter, like late-arriving records.
        const ts = Math.round(end - spanMs + (spanMs * (index + random())) / options.records);
        const facility = facilities[Math.floor(random() * facilities.length)] ?? 'kern';
        const severity = SEVERITIES[Math.floor(random() * SEVERITIES.length)] ?? 'info';
        const host = hosts[Math.floor(random() * hosts.length)] ?? 'web-00';
        const words: string[] = [];
        for (let w = 0; w < 6; w++)
          words.push(SYNTHETIC_WORDS[Math.floor(random() * SYNTHETIC_WORDS.length)] ?? 'ok');
        if (rareEvery > 0 && index % rareEvery === rareEvery - 1) words.push(RARE_WORD);
        words.push(`n${index}`);
        const record: StoredRecord = {
          id: `syn:${start + index}`,
          ts: new Date(ts).toISOString(),
          facility,
          severity,
          msg: words.join(' '),
          routing_key: `${facility}.${severity}`,
          host,
          app: 'synthetic',
          pid: 1000 + (index % 100),
        };
        // Half carry HTTP-ish fields (the query language's field filters and top values read them).
        if (index % 2 === 0) {
          record.fields = {
            status: SYNTHETIC_STATUSES[Math.floor(random() * SYNTHETIC_STATUSES.length)] ?? 200,
            duration_ms: Math.floor(random() * 2000),
          };
        } else if (index % 10 === 1) record.fields = { n: index };
        records.push(record);
      }
      lastSeq = writer.write(records).lastSeq;
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    return lastSeq;
  } finally {
    db.close();
  }
}
