import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQuery, queryMatcher, type StoredRecord } from '../../protocol/index.js';
import {
  createQueryStore,
  textFilter,
  type QueryStore,
  type SyncQueryStore,
} from '../../collector/store/query.js';
import { createTestStore, type TestRecord, type TestStore } from './fixtures.js';

/**
 * Issue 16: for random queries of the one query language over a generated store, the store's
 * answer (SQL + FTS5, every page plan) equals a brute-force filter of all records in code
 * (queryMatcher: what logtail -q and the screen's / use live).
 */

let state = 20261203;
const random = (): number => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

const WORDS = ['disk', 'timeout', 'retry', 'backend', 'login', 'cache', 'miss', 'ok', 'école', 'sda1'];
const HOSTS = ['web-01', 'web-02', 'db-01', undefined];
const APPS = ['api', 'worker', undefined];
const KEYS = ['app.info', 'app.error', 'kern.warning', 'auth.debug', 'app.critical'];
const USERS = ['alice', 'bob', 'carol'];

function randomFields(): Record<string, unknown> | undefined {
  const roll = random();
  if (roll < 0.2) return undefined;
  const fields: Record<string, unknown> = {};
  if (random() < 0.7) fields.status = pick([200, 201, 404, 500, 503, '500', 'ok']);
  if (random() < 0.5) fields.user = pick(USERS);
  if (random() < 0.4) fields.duration_ms = Math.round(random() * 1000) / (random() < 0.5 ? 1 : 10);
  if (random() < 0.3) fields.http = { status: pick([200, 502, 404]), method: pick(['GET', 'POST']) };
  if (random() < 0.2) fields.cached = random() < 0.5;
  if (random() < 0.1) fields.status = null;
  return fields;
}

function randomTerm(): string {
  const roll = random();
  const neg = random() < 0.2 ? '-' : '';
  if (roll < 0.3) {
    const word = pick(WORDS);
    return neg + (random() < 0.3 ? `${word.slice(0, 2)}*` : word);
  }
  if (roll < 0.38) return `${neg}"${pick(WORDS)} ${pick(WORDS)}"`;
  if (roll < 0.48) return `${neg}host:${pick(['web-01', 'web-*', 'db-01', '*-02'])}`;
  if (roll < 0.53) return `${neg}app:${pick(['api', 'worker'])}`;
  if (roll < 0.6) return `${neg}severity:${pick(['error', 'warning+', 'debug', 'crit'])}`;
  if (roll < 0.65) return `${neg}pid:${pick(['>100', '7', '<=50'])}`;
  if (roll < 0.78) return `${neg}status:${pick(['500', '>=500', '<300', '5*', 'ok', '"500"'])}`;
  if (roll < 0.84) return `${neg}user:${pick([...USERS, 'b*'])}`;
  if (roll < 0.9) return `${neg}duration_ms:${pick(['>250', '<=10.5', '>999'])}`;
  if (roll < 0.95) return `${neg}http.status:${pick(['502', '>=400'])}`;
  return `${neg}cached:${pick(['true', 'false'])}`;
}

function randomQuery(): string {
  const group = (): string => {
    const n = 1 + Math.floor(random() * 2);
    const terms = Array.from({ length: n }, randomTerm);
    return terms.join(' ');
  };
  const roll = random();
  if (roll < 0.5) return group();
  if (roll < 0.8) return `${group()} OR ${group()}`;
  return `${randomTerm()} (${group()} OR ${group()})`;
}

describe('the query language on the store', () => {
  let store: TestStore;
  let reads: QueryStore;
  /** On SQLite, the same store with plan thresholds that send every text query through the scan plans. */
  let scanning: SyncQueryStore | null;
  const stored: StoredRecord[] = [];

  beforeAll(async () => {
    store = await createTestStore();
    const records: TestRecord[] = [];
    for (let i = 0; i < 500; i++) {
      const words = Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(WORDS));
      records.push({
        id: `q${i}`,
        ts: 1_000 + i,
        key: pick(KEYS),
        host: pick(HOSTS) ?? null,
        app: pick(APPS) ?? null,
        pid: random() < 0.8 ? Math.floor(random() * 200) : null,
        msg: words.join(' '),
        fields: randomFields() ?? null,
      });
    }
    await store.insert(records);
    reads = await store.reads();
    scanning =
      store.kind === 'sqlite'
        ? createQueryStore(store.db, store.dbPath, { ftsDriveLimit: 1, ftsScanMinChunk: 1, mergeMaxKeys: 2 })
        : null;
    for (const r of (await reads.page({ patterns: [], order: 'asc', limit: 1000 })).records)
      stored.push(r.record);
  });
  afterAll(async () => {
    await reads.close();
    await store.cleanup();
  });

  it('stores what was generated, fields included', () => {
    expect(stored).toHaveLength(500);
    expect(stored.some((r) => r.fields?.http !== undefined)).toBe(true);
  });

  it('answers every random query exactly as a filter of all records in code', async () => {
    let nonEmpty = 0;
    for (let i = 0; i < 400; i++) {
      const q = randomQuery();
      const expected = stored.filter(queryMatcher(parseQuery(q))).map((r) => r.id);
      const page = await reads.page({ patterns: [], order: 'asc', limit: 1000, text: textFilter(q) });
      expect(
        page.records.map((r) => r.record.id),
        q,
      ).toEqual(expected);
      // Newest first in pages of 7 (on SQLite through the scan plans).
      const ids: (string | null)[] = [];
      let after: { ts: number; seq: number } | undefined;
      for (;;) {
        const query = { patterns: [], order: 'desc' as const, limit: 7, text: textFilter(q), after };
        const next = scanning === null ? await reads.page(query) : scanning.page(query);
        ids.push(...next.records.map((r) => r.record.id));
        const last = next.records.at(-1);
        if (!next.more || last === undefined) break;
        after = { ts: last.ts, seq: last.seq };
      }
      expect(ids.reverse(), `pages of 7: ${q}`).toEqual(expected);
      if (expected.length > 0 && expected.length < stored.length) nonEmpty++;
      // The live stream's reads and counts agree too.
      const stream = await reads.streamBatch({ patterns: [], text: textFilter(q) }, 0, 1000);
      expect(
        stream.records.map((r) => r.record.id),
        `stream: ${q}`,
      ).toEqual(expected);
      expect(await reads.countBetween({ patterns: [], text: textFilter(q) }, 0, 500), `count: ${q}`).toBe(
        expected.length,
      );
    }
    // The generator made queries that select, not only all or nothing.
    expect(nonEmpty).toBeGreaterThan(150);
    // Some 20,000 reads; on PostgreSQL each a round trip (two for a text page).
  }, 120_000);
});
