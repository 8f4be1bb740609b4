import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestApi,
  createTestStore,
  TEST_STORE,
  HOUR,
  MINUTE,
  type TestApi,
  type TestRecord,
  type TestStore,
} from './fixtures.js';

interface Rec {
  id: string | null;
  ts: string;
  facility: string;
  severity: string;
  routing_key: string;
  msg: string;
  host?: string;
  fields?: unknown;
}
interface Body {
  records: Rec[];
  next: string | null;
  stream_cursor: string;
}
interface ErrorReply {
  error: { code: string; message: string; hint?: string };
}

const NOW = Date.parse('2026-11-21T12:00:00Z');

/** How a malformed FTS5 expression is refused: on SQLite as FTS5 reads it; PostgreSQL takes none. */
const FTS_REFUSED = TEST_STORE === 'postgres' ? /PostgreSQL/ : /full-text query/;

describe('GET /api/logs', () => {
  let store: TestStore;
  let api: TestApi;

  beforeEach(async () => {
    store = await createTestStore();
    api = await createTestApi(store, { now: () => new Date(NOW) });
  });
  afterEach(async () => {
    await api.app.close();
    await store.cleanup();
  });

  const get = async (url: string): Promise<Body> => {
    const res = await api.app.inject({ method: 'GET', url });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Body>();
  };
  const ids = async (url: string): Promise<(string | null)[]> => (await get(url)).records.map((r) => r.id);
  const getError = async (url: string): Promise<{ status: number; error: ErrorReply['error'] }> => {
    const res = await api.app.inject({ method: 'GET', url });
    return { status: res.statusCode, error: res.json<ErrorReply>().error };
  };

  /** A small varied store: facilities × severities × hosts × times. */
  const seedVaried = async (): Promise<void> => {
    const rows: TestRecord[] = [
      {
        id: 'k-crit',
        ts: NOW - 5 * MINUTE,
        key: 'kern.critical',
        host: 'web-01',
        msg: 'disk failure on sda',
      },
      { id: 'k-err', ts: NOW - 10 * MINUTE, key: 'kern.error', host: 'web-02', msg: 'disk slow on sdb' },
      { id: 'k-info', ts: NOW - 20 * MINUTE, key: 'kern.info', host: 'web-01', msg: 'link up eth0' },
      { id: 'a-emerg', ts: NOW - 2 * HOUR, key: 'auth.emergency', host: 'db-01', msg: 'root login failure' },
      {
        id: 'a-warn',
        ts: NOW - 3 * HOUR,
        key: 'auth.warning',
        host: 'web-01',
        msg: 'password expired for bob',
      },
      { id: 'app-debug', ts: NOW - 30 * HOUR, key: 'app.debug', host: 'web-02', msg: 'cache miss key=abc' },
      { id: 'deep', ts: NOW - 40 * MINUTE, key: 'a.b.c', host: 'web-03', msg: 'foreign three word key' },
    ];
    await store.insert(rows);
  };

  it('returns records newest first in the contract shape, with routing_key', async () => {
    await store.insert([
      {
        id: 'a',
        ts: NOW - 2 * MINUTE,
        key: 'kern.critical',
        host: 'web-01',
        app: 'api',
        pid: 7,
        msg: 'disk failure on sda',
        fields: { disk: 'sda' },
      },
      { id: 'b', ts: NOW - MINUTE, key: 'auth.info', msg: 'login ok' },
      { id: null, ts: NOW - 3 * MINUTE, key: 'auth.info', msg: 'no id' },
    ]);
    const body = await get('/api/logs');
    expect(body.next).toBeNull();
    expect(body.records).toEqual([
      {
        id: 'b',
        ts: new Date(NOW - MINUTE).toISOString(),
        facility: 'auth',
        severity: 'info',
        msg: 'login ok',
        routing_key: 'auth.info',
      },
      {
        id: 'a',
        ts: new Date(NOW - 2 * MINUTE).toISOString(),
        facility: 'kern',
        severity: 'critical',
        host: 'web-01',
        app: 'api',
        pid: 7,
        msg: 'disk failure on sda',
        fields: { disk: 'sda' },
        routing_key: 'kern.critical',
      },
      {
        id: null,
        ts: new Date(NOW - 3 * MINUTE).toISOString(),
        facility: 'auth',
        severity: 'info',
        msg: 'no id',
        routing_key: 'auth.info',
      },
    ]);
    expect(Number(body.stream_cursor)).toBe(3);
  });

  it('answers an empty store with no records and no next', async () => {
    expect(await get('/api/logs?pattern=kern.*&q=disk')).toEqual({
      records: [],
      next: null,
      stream_cursor: '0',
    });
  });

  it('filters by pattern with RabbitMQ topic semantics', async () => {
    await seedVaried();
    expect(await ids('/api/logs?pattern=kern.*')).toEqual(['k-crit', 'k-err', 'k-info']);
    expect(await ids('/api/logs?pattern=*.critical')).toEqual(['k-crit']);
    expect(await ids('/api/logs?pattern=%23')).toHaveLength(7);
    // # is zero or more words; * exactly one: a.b.c is matched by a.# and #.c but not *.*
    expect(await ids('/api/logs?pattern=a.%23')).toEqual(['deep']);
    expect(await ids('/api/logs?pattern=%23.b.c')).toEqual(['deep']);
    expect(await ids('/api/logs?pattern=*.b.*')).toEqual(['deep']);
    expect(await ids('/api/logs?pattern=*.*')).not.toContain('deep');
    expect(await ids('/api/logs?pattern=nothing.*')).toEqual([]);
  });

  it('ORs several patterns and expands severity ranges', async () => {
    await seedVaried();
    expect(await ids('/api/logs?pattern=kern.critical&pattern=app.*')).toEqual(['k-crit', 'app-debug']);
    expect(await ids('/api/logs?pattern=*.error%2B')).toEqual(['k-crit', 'k-err', 'a-emerg']);
    expect(await ids('/api/logs?pattern=auth.warning%2B')).toEqual(['a-emerg', 'a-warn']);
    // aliases are normalised: crit+ is critical and more severe
    expect(await ids('/api/logs?pattern=*.crit%2B')).toEqual(['k-crit', 'a-emerg']);
  });

  it('finds foreign severity spellings by their canonical pattern, and any key by its own name', async () => {
    await store.insert([
      { id: 'syslog-ng', ts: NOW - 1 * MINUTE, key: 'kern.crit', msg: 'a' },
      { id: 'upper', ts: NOW - 2 * MINUTE, key: 'KERN.CRITICAL', msg: 'b' },
      { id: 'mixed', ts: NOW - 3 * MINUTE, key: 'Kern.Fatal', msg: 'c' },
      { id: 'canonical', ts: NOW - 4 * MINUTE, key: 'kern.critical', msg: 'd' },
      { id: 'rsyslog', ts: NOW - 5 * MINUTE, key: 'daemon.warn', msg: 'e' },
      { id: 'verbose', ts: NOW - 6 * MINUTE, key: 'app.verbose', msg: 'f' },
      { id: 'rabbit', ts: NOW - 7 * MINUTE, key: 'x.y.rabbit', msg: 'g' },
    ]);
    const crit = ['syslog-ng', 'upper', 'mixed', 'canonical'];
    expect(await ids('/api/logs?pattern=kern.critical')).toEqual(crit);
    expect(await ids('/api/logs?pattern=*.crit')).toEqual(crit);
    expect(await ids('/api/logs?pattern=KERN.CRITICAL')).toEqual(crit);
    expect(await ids('/api/logs?pattern=*.warning%2B')).toEqual([...crit, 'rsyslog']);
    expect(await ids('/api/logs?pattern=kern.*')).toEqual(crit);
    // valid AMQP patterns whose last word is no severity: plain topic matching, no 400
    expect(await ids('/api/logs?pattern=app.verbose')).toEqual(['verbose']);
    expect(await ids('/api/logs?pattern=%23.rabbit')).toEqual(['rabbit']);
    expect(await ids('/api/logs?pattern=x.y.rabbit')).toEqual(['rabbit']);
    // the original key stays on the record
    expect((await get('/api/logs?pattern=kern.critical')).records.map((r) => r.routing_key)).toEqual([
      'kern.crit',
      'KERN.CRITICAL',
      'Kern.Fatal',
      'kern.critical',
    ]);
  });

  it('filters by full text, with plain words ANDed and prefixes', async () => {
    await seedVaried();
    expect(await ids('/api/logs?q=disk')).toEqual(['k-crit', 'k-err']);
    expect(await ids('/api/logs?q=disk%20failure')).toEqual(['k-crit']);
    expect(await ids('/api/logs?q=FAILURE')).toEqual(['k-crit', 'a-emerg']);
    expect(await ids('/api/logs?q=pass*')).toEqual(['a-warn']);
    // punctuation is just text
    expect(await ids('/api/logs?q=key%3Dabc')).toEqual(['app-debug']);
    // with syntax=words, operators and stray quotes are words too
    expect(await ids('/api/logs?syntax=words&q=AND%20OR')).toEqual([]);
    expect(await ids('/api/logs?syntax=words&q=%22disk')).toEqual(['k-crit', 'k-err']);
    // in the query language they are syntax: a 400 that says where
    const bad = await getError('/api/logs?q=%22disk');
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({
      code: 'WARREN_BAD_QUERY',
      message: 'q at position 1: this quote is never closed',
    });
  });

  it('filters with the query language: fields, wildcards, comparisons, exclusions, OR', async () => {
    await store.insert([
      {
        id: 'f1',
        ts: NOW - MINUTE,
        key: 'app.error',
        host: 'web-01',
        msg: 'upstream failed',
        fields: { status: 502, user: 'bob', http: { method: 'GET' } },
      },
      {
        id: 'f2',
        ts: NOW - 2 * MINUTE,
        key: 'app.info',
        host: 'web-02',
        msg: 'served',
        fields: { status: 200, user: 'alice' },
      },
      {
        id: 'f3',
        ts: NOW - 3 * MINUTE,
        key: 'app.warning',
        host: 'db-01',
        msg: 'slow query',
        fields: { duration_ms: 812 },
      },
    ]);
    expect(await ids('/api/logs?q=status:>=500')).toEqual(['f1']);
    expect(await ids('/api/logs?q=host:web-*%20-user:bob')).toEqual(['f2']);
    expect(await ids('/api/logs?q=http.method:GET')).toEqual(['f1']);
    expect(await ids('/api/logs?q=duration_ms:>250%20OR%20served')).toEqual(['f2', 'f3']);
    expect(await ids('/api/logs?q=(failed%20OR%20slow)%20severity:warning%2B')).toEqual(['f1', 'f3']);
    const bad = await getError('/api/logs?q=status:>=fast');
    expect(bad.status).toBe(400);
    expect(bad.error.message).toBe("q at position 10: >= compares numbers, not 'fast'");
  });

  it('accepts FTS5 syntax with syntax=fts on SQLite, and says on PostgreSQL to use the query language', async () => {
    await seedVaried();
    if (store.kind === 'postgres') {
      const { status, error } = await getError('/api/logs?syntax=fts&q=sda%20OR%20sdb');
      expect(status).toBe(400);
      expect(error.code).toBe('WARREN_BAD_QUERY');
      expect(error.hint).toMatch(/query language/);
      // The same question in the query language.
      expect(await ids('/api/logs?q=sda%20OR%20sdb')).toEqual(['k-crit', 'k-err']);
      return;
    }
    expect(await ids('/api/logs?syntax=fts&q=sda%20OR%20sdb')).toEqual(['k-crit', 'k-err']);
    expect(await ids('/api/logs?syntax=fts&q=disk%20NOT%20slow')).toEqual(['k-crit']);
  });

  it('filters by since and until, absolute or relative', async () => {
    await seedVaried();
    expect(await ids('/api/logs?since=15m')).toEqual(['k-crit', 'k-err']);
    expect(await ids('/api/logs?since=1h&until=8m')).toEqual(['k-err', 'k-info', 'deep']);
    expect(
      await ids(
        `/api/logs?since=${new Date(NOW - 3 * HOUR).toISOString()}&until=${new Date(NOW - HOUR).toISOString()}`,
      ),
    ).toEqual(['a-emerg', 'a-warn']);
    expect(await ids('/api/logs?until=1d')).toEqual(['app-debug']);
  });

  it('filters by host and combines every filter with AND', async () => {
    await seedVaried();
    expect(await ids('/api/logs?host=web-01')).toEqual(['k-crit', 'k-info', 'a-warn']);
    expect(await ids('/api/logs?host=web-01&pattern=kern.*&q=disk&since=1h')).toEqual(['k-crit']);
    expect(await ids('/api/logs?host=web-02&pattern=kern.*&since=1h')).toEqual(['k-err']);
    expect(await ids('/api/logs?host=web-02&pattern=*.error%2B&q=disk&since=6m')).toEqual([]);
    expect(await ids('/api/logs?host=nobody')).toEqual([]);
  });

  it('returns oldest first with order=asc', async () => {
    await seedVaried();
    expect(await ids('/api/logs?order=asc&pattern=kern.*')).toEqual(['k-info', 'k-err', 'k-crit']);
  });

  it('orders records with the same ts by insertion', async () => {
    await store.insert(
      [1, 2, 3].map((n) => ({ id: `same-${n}`, ts: NOW - MINUTE, key: 'kern.info', msg: `m${n}` })),
    );
    expect(await ids('/api/logs')).toEqual(['same-3', 'same-2', 'same-1']);
    expect(await ids('/api/logs?order=asc')).toEqual(['same-1', 'same-2', 'same-3']);
  });

  /** Every page through `url`, following next. */
  const pageAll = async (url: string, between?: (page: number) => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    let next: string | null = null;
    let page = 0;
    do {
      const body: Body = await get(next === null ? url : `${url}&cursor=${encodeURIComponent(next)}`);
      seen.push(...body.records.map((r) => r.id ?? ''));
      next = body.next;
      await between?.(page++);
      expect(page).toBeLessThan(1000);
    } while (next !== null);
    return seen;
  };

  const seedMany = async (n: number, base = 0): Promise<TestRecord[]> => {
    const keys = ['kern.critical', 'kern.info', 'auth.error', 'app.debug', 'mail.warning'];
    const rows = Array.from({ length: n }, (_, i) => ({
      id: `r${base + i}`,
      // many records share a ts, so paging must tiebreak on seq
      ts: NOW - HOUR + Math.floor((base + i) / 3) * 1000,
      key: keys[(base + i) % keys.length] ?? 'kern.info',
      host: `h${(base + i) % 4}`,
      msg: `message number ${base + i} ${(base + i) % 2 === 0 ? 'even' : 'odd'}`,
    }));
    await store.insert(rows);
    return rows;
  };

  it.each([
    ['desc', ''],
    ['asc', '&order=asc'],
  ])('pages %s through every record exactly once, for every filter path', async (_order, order) => {
    const rows = await seedMany(250);
    const expectIds = (pred: (r: TestRecord) => boolean): string[] => {
      const list = rows.filter(pred).map((r) => r.id ?? '');
      return order === '' ? list.reverse() : list;
    };
    expect(await pageAll(`/api/logs?limit=7${order}`)).toEqual(expectIds(() => true));
    // few keys (per-key merge), many keys with a host (index scan), text (FTS driven)
    expect(await pageAll(`/api/logs?limit=9&pattern=kern.*${order}`)).toEqual(
      expectIds((r) => r.key.startsWith('kern.')),
    );
    expect(await pageAll(`/api/logs?limit=5&pattern=kern.*&pattern=auth.*&host=h1${order}`)).toEqual(
      expectIds((r) => (r.key.startsWith('kern.') || r.key.startsWith('auth.')) && r.host === 'h1'),
    );
    expect(await pageAll(`/api/logs?limit=11&q=even&pattern=*.critical%2B${order}`)).toEqual(
      expectIds((r) => r.msg.endsWith('even') && r.key === 'kern.critical'),
    );
  });

  it('pages while inserts continue: every record present at the first page exactly once', async () => {
    const first = await seedMany(120);
    let base = 120;
    const inserted: string[] = [];
    const seen = await pageAll('/api/logs?limit=10', async () => {
      // new records, some newer and some older (late arrivals) than the page boundary
      const rows = await seedMany(7, base);
      await store.insert([{ id: `late${base}`, ts: NOW - 2 * HOUR, key: 'kern.info', msg: 'late arrival' }]);
      inserted.push(...rows.map((r) => r.id ?? ''), `late${base}`);
      base += 7;
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(first.map((r) => r.id).reverse());
    // the later records are there for the next listing, or for the stream from stream_cursor
    const again = await pageAll('/api/logs?limit=50');
    expect(again).toHaveLength(120 + inserted.length);
  });

  it('uses limit, defaulting to 100', async () => {
    await seedMany(150);
    const body = await get('/api/logs');
    expect(body.records).toHaveLength(100);
    expect(body.next).not.toBeNull();
    expect((await get('/api/logs?limit=150')).next).toBeNull();
    expect((await get('/api/logs?limit=3')).records).toHaveLength(3);
  });

  describe('errors', () => {
    it.each([
      ['/api/logs?pattern=kern.*x', 'WARREN_BAD_PATTERN', /kern\.\*x/],
      ['/api/logs?pattern=*.loud%2B', 'WARREN_BAD_PATTERN', /'loud\+' is not a severity range/],
      ['/api/logs?pattern=', 'WARREN_BAD_REQUEST', /pattern/],
      ['/api/logs?since=yesterday', 'WARREN_BAD_DURATION', /yesterday/],
      ['/api/logs?until=3x', 'WARREN_BAD_DURATION', /3x/],
      ['/api/logs?since=1h&until=2h', 'WARREN_BAD_REQUEST', /not before until/],
      ['/api/logs?limit=10001', 'WARREN_BAD_REQUEST', /limit must be <= 10000/],
      ['/api/logs?limit=0', 'WARREN_BAD_REQUEST', /limit must be >= 1/],
      ['/api/logs?limit=ten', 'WARREN_BAD_REQUEST', /limit must be integer/],
      ['/api/logs?order=sideways', 'WARREN_BAD_REQUEST', /order/],
      ['/api/logs?cursor=garbage', 'WARREN_BAD_CURSOR', /not a cursor/],
      [
        `/api/logs?cursor=${Buffer.from('[1,"d",1,"x",3]').toString('base64url')}`,
        'WARREN_BAD_CURSOR',
        /damaged/,
      ],
      ['/api/logs?syntax=fts&q=disk%20AND', 'WARREN_BAD_QUERY', FTS_REFUSED],
      ['/api/logs?syntax=fts&q=(disk', 'WARREN_BAD_QUERY', FTS_REFUSED],
      ['/api/logs?syntax=fts&q=nocolumn:disk', 'WARREN_BAD_QUERY', FTS_REFUSED],
      ['/api/logs?q=...', 'WARREN_BAD_QUERY', /no words/],
      [`/api/logs?q=${'x'.repeat(1025)}`, 'WARREN_BAD_REQUEST', /q must NOT have more than 1024/],
      ['/api/logs?patern=kern.*', 'WARREN_BAD_REQUEST', /^unknown query parameter 'patern'$/],
      // pattern=*.error+ unencoded: the + arrived as a space.
      ['/api/logs?pattern=*.error+', 'WARREN_BAD_PATTERN', /^pattern '\*\.error ' ends with a space$/],
      ['/api/nothing', 'WARREN_NOT_FOUND', /no route GET \/api\/nothing/],
    ])('%s → %s', async (url, code, message) => {
      await seedVaried();
      const { status, error } = await getError(url);
      expect(error.code).toBe(code);
      expect(status).toBe(code === 'WARREN_NOT_FOUND' ? 404 : 400);
      expect(error.message).toMatch(message);
    });

    it('rejects a cursor made for the other order', async () => {
      await seedMany(20);
      const { next } = await get('/api/logs?limit=5');
      const { status, error } = await getError(`/api/logs?limit=5&order=asc&cursor=${next ?? ''}`);
      expect(status).toBe(400);
      expect(error.code).toBe('WARREN_BAD_CURSOR');
      expect(error.message).toMatch(/order=desc/);
    });

    it('answers a failure inside as 500 in the same shape without internals', async () => {
      await seedVaried();
      await store.breakText();
      const res = await api.app.inject({ method: 'GET', url: '/api/logs?q=disk' });
      expect(res.statusCode).toBe(500);
      const body = res.json<ErrorReply>();
      expect(body.error.code).toBe('WARREN_INTERNAL');
      expect(body.error.message).not.toMatch(/records_fts|sqlite|words|postgres|column/i);
    });
  });
});
