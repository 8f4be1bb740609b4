import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileMatcher, parsePatterns } from '../../protocol/index.js';
import {
  createQueryStore,
  textFilter,
  type Order,
  type PlanOptions,
  type SyncQueryStore,
} from '../../collector/store/query.js';
import { createTestStore, type TestRecord, type TestStore } from './fixtures.js';

/**
 * The read path has several plans (FTS-driven, common word by seq ranges, per-key merge, one
 * index). Each must list exactly what a brute-force filter of every record lists, in (ts, seq)
 * order, page after page: forced one plan at a time over the same random store.
 */

const KEYS = [
  'kern.critical',
  'kern.info',
  'kern.debug',
  'auth.error',
  'auth.warning',
  'app.info',
  'app.emergency',
  'mail.notice',
  'cron.alert',
  'x.y.z',
];
const WORDS = ['disk', 'failure', 'login', 'cache', 'miss', 'ok', 'slow', 'rare'];
const T0 = Date.parse('2026-11-20T00:00:00Z');

interface Row extends TestRecord {
  seq: number;
}

let state = 7;
const random = (): number => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

const PLANS: Record<string, Partial<PlanOptions>> = {
  default: {},
  'fts-driven': { ftsDriveLimit: 1_000_000 },
  'common-word scan, global index': {
    ftsDriveLimit: 0,
    mergeMaxKeys: 0,
    mergeMaxFraction: 0,
    ftsScanMinChunk: 3,
  },
  'common-word scan, per-key merge': { ftsDriveLimit: 0, mergeMaxKeys: 1000, ftsScanMinChunk: 3 },
  'global index': { mergeMaxKeys: 0, mergeMaxFraction: 0 },
  'per-key merge': { mergeMaxKeys: 1000 },
};

interface Case {
  patterns?: string[];
  q?: string;
  since?: number;
  until?: number;
  host?: string;
}

const CASES: Case[] = [
  {},
  { patterns: ['kern.*'] },
  { patterns: ['*.error+'] },
  { patterns: ['auth.#', 'app.emergency', '#.y.z'] },
  { patterns: ['nobody.*'] },
  { q: 'disk' },
  { q: 'disk failure' },
  { q: 'rare', patterns: ['kern.*', 'auth.*'] },
  { q: 'mi*' },
  { since: T0 + 3_600_000, until: T0 + 5 * 3_600_000 },
  { host: 'h2' },
  { host: 'h1', patterns: ['*.info'], q: 'ok', since: T0 + 1_000_000 },
  { patterns: ['*.*'], q: 'slow', until: T0 + 4 * 3_600_000 },
];

describe('the store read path', () => {
  let store: TestStore;
  const rows: Row[] = [];

  beforeAll(async () => {
    store = await createTestStore('sqlite');
    const batch: TestRecord[] = [];
    for (let i = 0; i < 700; i++) {
      const words = [pick(WORDS), pick(WORDS), pick(WORDS)].filter((w) => w !== 'rare' || random() < 0.2);
      batch.push({
        id: `r${i}`,
        // coarse times so many records tie on ts; out of insertion order like late arrivals
        ts: T0 + Math.floor(random() * 8) * 3_600_000 + Math.floor(random() * 3) * 1000,
        key: pick(KEYS),
        host: pick(['h1', 'h2', 'h3', null]),
        msg: `${words.join(' ')} #${i}`,
      });
    }
    const last = await store.insert(batch);
    batch.forEach((r, i) => rows.push({ ...r, seq: last - batch.length + 1 + i }));
  });
  afterAll(() => store.cleanup());

  const expected = (c: Case, order: Order): string[] => {
    const matches = compileMatcher(parsePatterns(c.patterns ?? []));
    const terms = c.q?.split(' ') ?? [];
    const list = rows.filter((r) => {
      const words = r.msg.split(' ');
      return (
        matches(r.key) &&
        (c.since === undefined || r.ts >= c.since) &&
        (c.until === undefined || r.ts < c.until) &&
        (c.host === undefined || r.host === c.host) &&
        terms.every((t) =>
          t.endsWith('*') ? words.some((w) => w.startsWith(t.slice(0, -1))) : words.includes(t),
        )
      );
    });
    list.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    if (order === 'desc') list.reverse();
    return list.map((r) => r.id ?? '');
  };

  const pageAll = (query: SyncQueryStore, c: Case, order: Order, limit: number): string[] => {
    const out: string[] = [];
    let after: { ts: number; seq: number } | undefined;
    let head: number | undefined;
    for (let i = 0; i < 1000; i++) {
      const page = query.page({
        patterns: parsePatterns(c.patterns ?? []),
        text: c.q === undefined ? undefined : textFilter(c.q),
        since: c.since,
        until: c.until,
        host: c.host,
        order,
        limit,
        after,
        head,
      });
      out.push(...page.records.map((r) => r.record.id ?? ''));
      head = page.head;
      const last = page.records[page.records.length - 1];
      if (!page.more || last === undefined) return out;
      after = { ts: last.ts, seq: last.seq };
    }
    throw new Error('paging did not end');
  };

  for (const [name, plan] of Object.entries(PLANS)) {
    it(`plan "${name}" lists exactly what brute force does, in both orders, in pages`, () => {
      const db = new Database(store.dbPath, { readonly: true });
      const query = createQueryStore(db, store.dbPath, plan);
      try {
        for (const c of CASES) {
          for (const order of ['desc', 'asc'] as const) {
            const want = expected(c, order);
            for (const limit of [1, 7, 1000]) {
              expect(pageAll(query, c, order, limit), `${JSON.stringify(c)} ${order} limit ${limit}`).toEqual(
                want,
              );
            }
          }
        }
      } finally {
        query.close();
      }
    });
  }

  it('streams by seq from any position, filtered, in bounded batches', () => {
    const db = new Database(store.dbPath, { readonly: true });
    const query = createQueryStore(db, store.dbPath);
    try {
      for (const c of CASES) {
        const filter = {
          patterns: parsePatterns(c.patterns ?? []),
          text: c.q === undefined ? undefined : textFilter(c.q),
          since: c.since,
          until: c.until,
          host: c.host,
        };
        const from = rows[100]?.seq ?? 0;
        const seen: string[] = [];
        let after = from;
        for (let i = 0; i < 1000; i++) {
          const batch = query.streamBatch(filter, after, 5);
          expect(batch.records.length).toBeLessThanOrEqual(5);
          seen.push(...batch.records.map((r) => r.record.id ?? ''));
          after = batch.through;
          if (!batch.more) break;
        }
        const want = rows
          .filter((r) => r.seq > from && expected(c, 'asc').includes(r.id ?? ''))
          .map((r) => r.id);
        expect(seen, JSON.stringify(c)).toEqual(want);
        expect(query.countBetween(filter, from, query.head())).toBe(want.length);
      }
    } finally {
      query.close();
    }
  });
});
