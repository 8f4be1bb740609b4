import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { createTestApi, createTestStore, MINUTE, type TestApi, type TestStore } from './fixtures.js';

interface ErrorReply {
  error: { code: string; message: string; hint?: string };
}

const NOW = Date.parse('2026-11-21T12:00:00Z');

/**
 * Issue 14 item 7: the API's reads run in reader processes (dist/collector/store/reader-process.js,
 * built by npm test), each with a deadline. A connection holding the store in SQLite's exclusive
 * locking mode makes a reader wait inside SQLite's busy handler, in native code: the very case a
 * worker thread's terminate() cannot stop and a SIGKILL can.
 */
describe('reads off the ingest thread', () => {
  let store: TestStore;
  let api: TestApi;
  let blocker: Database.Database | null = null;

  const block = (): void => {
    // Exclusive mode in WAL needs the only open connection: the fixture's writer steps aside.
    store.db.close();
    blocker = new Database(store.dbPath);
    blocker.pragma('locking_mode = EXCLUSIVE');
    blocker.exec('BEGIN EXCLUSIVE');
  };
  const unblock = (): void => {
    blocker?.exec('COMMIT');
    blocker?.close();
    blocker = null;
  };

  beforeEach(async () => {
    store = await createTestStore();
    await store.insert([{ ts: NOW - MINUTE, key: 'kern.info', msg: 'disk ok' }]);
    api = await createTestApi(store, {
      now: () => new Date(NOW),
      reads: { workers: 1, timeoutMs: 1000, maxWaiting: 1 },
    });
  });
  afterEach(async () => {
    unblock();
    await api.app.close();
    await store.cleanup();
  });

  it('stops a query at its deadline with a 504 that says what to do, and the next query gets a fresh reader', async () => {
    block();
    const started = Date.now();
    const res = await api.app.inject({ method: 'GET', url: '/api/logs?since=1h' });
    const took = Date.now() - started;
    expect(res.statusCode).toBe(504);
    const { error } = res.json<ErrorReply>();
    expect(error.code).toBe(ErrorCodes.QUERY_TIMEOUT);
    expect(error.message).toContain('ran longer than 1 s');
    expect(error.hint).toContain('--query-timeout');
    // The deadline stopped it (SQLite giving up after its 5 s busy timeout would be another error,
    // and stop no reader); how long the reader process took to start first depends on the machine's load.
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(api.logLines.some((line) => line.includes('its reader was stopped'))).toBe(true);
    unblock();
    const next = await api.app.inject({ method: 'GET', url: '/api/logs?since=1h' });
    expect(next.statusCode, next.body).toBe(200);
    expect(next.json<{ records: { msg: string }[] }>().records.map((r) => r.msg)).toEqual(['disk ok']);
  });

  it('answers the probes at once while queries are stuck, and refuses more queries than it can hold with 503 and Retry-After', async () => {
    block();
    const running = api.app.inject({ method: 'GET', url: '/api/logs?since=1h' });
    const waiting = api.app.inject({ method: 'GET', url: '/api/logs?since=2h' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const health = await api.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(100);
    const refused = await api.app.inject({ method: 'GET', url: '/api/logs?since=3h' });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json<ErrorReply>().error.code).toBe(ErrorCodes.QUERY_BUSY);
    // The one running hits its deadline; the one waiting then runs on a fresh reader.
    expect((await running).statusCode).toBe(504);
    unblock();
    expect((await waiting).statusCode).toBe(200);
  });
});
