import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePatterns } from '../../protocol/pattern.js';
import {
  createTestApi,
  createTestStore,
  MINUTE,
  type TestApi,
  type TestRecord,
  type TestStore,
} from './fixtures.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');

interface ErrorReply {
  error: { code: string; message: string; hint?: string };
}

describe('volume, top, context and export', () => {
  let store: TestStore;
  let api: TestApi;

  beforeEach(async () => {
    store = await createTestStore();
    api = await createTestApi(store, { now: () => new Date(NOW) });
    const rows: TestRecord[] = [
      {
        id: 'w1',
        ts: NOW - 9 * MINUTE - 1000,
        key: 'app.error',
        host: 'web-01',
        app: 'api',
        msg: 'upstream timeout',
        fields: { status: 504, user: 'bob' },
      },
      {
        id: 'w2',
        ts: NOW - 9 * MINUTE,
        key: 'app.info',
        host: 'web-01',
        app: 'api',
        msg: 'served',
        fields: { status: 200, user: 'alice' },
      },
      {
        id: 'w3',
        ts: NOW - 8 * MINUTE,
        key: 'app.info',
        host: 'web-01',
        app: 'worker',
        msg: 'job done',
        fields: { status: 200 },
      },
      {
        id: 'w4',
        ts: NOW - 7 * MINUTE,
        key: 'app.warning',
        host: 'web-01',
        app: 'api',
        msg: 'slow request',
        fields: { status: 200, user: 'bob' },
      },
      {
        id: 'd1',
        ts: NOW - 5 * MINUTE,
        key: 'kern.critical',
        host: 'db-01',
        app: 'postgres',
        msg: 'disk failure timeout',
        fields: { status: { nested: true } },
      },
      {
        id: 'w5',
        ts: NOW - 2 * MINUTE,
        key: 'app.error',
        host: 'web-01',
        app: 'api',
        msg: 'upstream timeout again',
      },
    ];
    await store.insert(rows);
  });
  afterEach(async () => {
    await api.app.close();
    await store.cleanup();
  });

  const get = async <T>(url: string): Promise<T> => {
    const res = await api.app.inject({ method: 'GET', url });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<T>();
  };

  it('counts records per bucket and severity, every bucket from since to until present', async () => {
    const volume = await get<{
      step_ms: number;
      buckets: { ts: string; total: number; counts: Record<string, number> }[];
    }>('/api/logs/volume?since=10m&step=1m');
    expect(volume.step_ms).toBe(60_000);
    expect(volume.buckets).toHaveLength(10);
    expect(volume.buckets[0]?.ts).toBe(new Date(NOW - 10 * MINUTE).toISOString());
    expect(volume.buckets.map((b) => b.total)).toEqual([1, 1, 1, 1, 0, 1, 0, 0, 1, 0]);
    expect(volume.buckets[1]?.counts).toEqual({ info: 1 });
    expect(volume.buckets[5]?.counts).toEqual({ critical: 1 });
    // The filters of /api/logs apply.
    const timeouts = await get<{ buckets: { total: number }[] }>(
      '/api/logs/volume?since=10m&step=5m&q=timeout',
    );
    expect(timeouts.buckets.map((b) => b.total)).toEqual([1, 2]);
    // The store groups whole buckets (a step bound as REAL once gave one row per record).
    const reads = await store.reads();
    const since = NOW - 10 * MINUTE;
    for (const filter of [{ patterns: [] }, { patterns: [], host: 'web-01' }]) {
      const rows = await reads.volume({ ...filter, since, until: NOW }, 5 * MINUTE);
      for (const row of rows) expect(row.bucket % (5 * MINUTE)).toBe(0);
    }
    await reads.close();
    const bad = await api.app.inject({ method: 'GET', url: '/api/logs/volume?since=7d&step=1s' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorReply>().error.hint).toContain('widen step');
  });

  it('counts the same whether it groups index entries or counts each bucket (dense ranges)', async () => {
    // 3,000 records over 3 keys in 30 minutes: ~33 per key and 1-minute bucket (counted), ~3 per 10 s (grouped).
    const dense: TestRecord[] = [];
    const keys = ['dense.info', 'dense.error', 'dense.debug'];
    for (let i = 0; i < 3000; i++) {
      dense.push({
        id: `dense-${i}`,
        ts: NOW - 30 * MINUTE + ((i * 7919) % (30 * MINUTE)),
        key: keys[i % 3] ?? 'dense.info',
        msg: `dense ${i}`,
      });
    }
    await store.insert(dense);
    const reads = await store.reads();
    const since = NOW - 31 * MINUTE + 1234;
    for (const step of [MINUTE, 10_000, 7 * MINUTE]) {
      for (const until of [NOW - 3 * MINUTE + 17, undefined]) {
        const rows = await reads.volume({ patterns: parsePatterns(['dense.*']), since, until }, step);
        const got = new Map(rows.map((r) => [`${r.bucket} ${r.severity}`, r.count]));
        const want = new Map<string, number>();
        for (const [i, r] of dense.entries()) {
          if (r.ts < since || (until !== undefined && r.ts >= until)) continue;
          const key = `${Math.floor(r.ts / step) * step} ${keys[i % 3]?.split('.')[1]}`;
          want.set(key, (want.get(key) ?? 0) + 1);
        }
        expect(got, `step ${step}, until ${until}`).toEqual(want);
      }
    }
    await reads.close();
  });

  it('lists the most frequent values of a column or a field, with what is left over', async () => {
    const hosts = await get<{ values: unknown[]; total: number; other_values: number; missing: number }>(
      '/api/logs/top?by=host&since=1h',
    );
    expect(hosts).toMatchObject({
      values: [
        { value: 'web-01', count: 5 },
        { value: 'db-01', count: 1 },
      ],
      total: 6,
      other_values: 0,
      missing: 0,
    });
    const severity = await get<{ values: { value: string; count: number }[] }>(
      '/api/logs/top?by=severity&limit=2&since=1h',
    );
    expect(severity.values).toEqual([
      { value: 'error', count: 2 },
      { value: 'info', count: 2 },
    ]);
    const status = await get<{
      values: unknown[];
      other_values: number;
      other_count: number;
      missing: number;
      total: number;
    }>('/api/logs/top?by=status&limit=1&since=1h');
    // 200 ×3, 504 ×1; an object and an absent status are "missing".
    expect(status).toEqual({
      by: 'status',
      total: 6,
      values: [{ value: 200, count: 3 }],
      other_values: 1,
      other_count: 1,
      missing: 2,
    });
    const users = await get<{ values: unknown[] }>(
      '/api/logs/top?by=fields.user&since=1h&q=host:web-01%20-status:200',
    );
    expect(users.values).toEqual([{ value: 'bob', count: 1 }]);
  });

  it('shows the lines around a record in time order, the record marked, from its own stream by default', async () => {
    const around = await get<{ records: { id: string }[]; target: number }>(
      '/api/logs/context?id=w4&before=2&after=5',
    );
    expect(around.records.map((r) => r.id)).toEqual(['w1', 'w2', 'w4', 'w5']);
    expect(around.target).toBe(2);
    const host = await get<{ records: { id: string }[]; target: number }>(
      '/api/logs/context?id=w4&before=1&after=1&scope=host',
    );
    expect(host.records.map((r) => r.id)).toEqual(['w3', 'w4', 'w5']);
    const all = await get<{ records: { id: string }[] }>(
      '/api/logs/context?id=w4&before=0&after=1&scope=all',
    );
    expect(all.records.map((r) => r.id)).toEqual(['w4', 'd1']);
    const missing = await api.app.inject({ method: 'GET', url: '/api/logs/context?id=nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<ErrorReply>().error.message).toBe("no stored record has id 'nope'");
  });

  it('exports every matching record as NDJSON, oldest first, across many store reads', async () => {
    const many: TestRecord[] = [];
    for (let i = 0; i < 4_500; i++)
      many.push({ id: `m${i}`, ts: NOW - 30 * MINUTE + i, key: 'bulk.info', msg: `bulk line ${i}` });
    await store.insert(many);
    const res = await api.app.inject({ method: 'GET', url: '/api/logs/export?pattern=bulk.%23&since=1h' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    const ids = res.body
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id);
    expect(ids).toHaveLength(4_500);
    expect(ids[0]).toBe('m0');
    expect(ids.at(-1)).toBe('m4499');
    expect(new Set(ids).size).toBe(4_500);
    const filtered = await api.app.inject({ method: 'GET', url: '/api/logs/export?since=1h&q=timeout' });
    expect(
      filtered.body
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { id: string }).id),
    ).toEqual(['w1', 'd1', 'w5']);
    const bad = await api.app.inject({ method: 'GET', url: '/api/logs/export?q=status:' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorReply>().error.code).toBe('WARREN_BAD_QUERY');
  });
});
