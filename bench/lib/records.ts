import {
  SEVERITIES,
  SYSLOG_FACILITIES,
  formatRoutingKey,
  type LogRecord,
  type Severity,
} from '../../protocol/index.js';

/** 40 facilities (the syslog ones plus applications), as the query figures of issue 5 ask. */
export const FACILITIES: readonly string[] = [
  ...SYSLOG_FACILITIES,
  ...['api', 'web', 'db', 'cache', 'queue', 'worker', 'billing', 'search', 'gateway', 'scheduler'],
  ...['mailer', 'payments', 'ingest', 'reports', 'storage', 'cdn', 'dns', 'vpn', 'backup', 'edge'],
].slice(0, 40);

const WORDS = [
  'request',
  'served',
  'upstream',
  'timeout',
  'connection',
  'reset',
  'disk',
  'latency',
  'cache',
  'miss',
  'user',
  'login',
  'session',
  'expired',
  'query',
  'slow',
  'retry',
  'backoff',
  'commit',
  'rollback',
  'socket',
  'closed',
  'handshake',
  'certificate',
  'renewed',
  'worker',
  'started',
  'stopped',
  'job',
  'queued',
];

/** A cheap deterministic generator, so every run stores the same records. */
export function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** Text of exactly `size` bytes (ASCII) built from log-like words, starting with `prefix`. */
export function filler(prefix: string, size: number, random: () => number): string {
  let text = prefix;
  while (text.length < size) text += ` ${WORDS[Math.floor(random() * WORDS.length)] ?? 'log'}`;
  return text.slice(0, size);
}

export interface BenchRecord {
  record: LogRecord;
  routingKey: string;
}

/**
 * `count` records whose JSON encoding is about `bytes` long, spread over the facilities and
 * severities with ids `<agent>:<n>` (the dedupe key, as an agent would set it).
 */
export function makeRecords(
  count: number,
  bytes: number,
  agent: string,
  seed = 7,
  startMs = Date.now(),
): BenchRecord[] {
  const random = rng(seed);
  const out: BenchRecord[] = [];
  for (let n = 0; n < count; n++) {
    const facility = FACILITIES[n % FACILITIES.length] ?? 'app';
    const severity: Severity = SEVERITIES[Math.floor(random() * SEVERITIES.length)] ?? 'info';
    const base: LogRecord = {
      id: `${agent}:${n}`,
      ts: new Date(startMs + n).toISOString(),
      facility,
      severity,
      host: `web-${String(n % 16).padStart(2, '0')}`,
      app: 'bench',
      pid: 4000 + (n % 100),
      msg: '',
    };
    const overhead = JSON.stringify(base).length;
    base.msg = filler(`#${n}`, Math.max(16, bytes - overhead), random);
    out.push({ record: base, routingKey: formatRoutingKey(facility, severity) });
  }
  return out;
}
