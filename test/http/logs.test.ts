import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApi, createTestStore, MINUTE, type TestApi, type TestStore } from './fixtures.js';

interface Body {
  records: {
    id: string | null;
    ts: string;
    severity: string;
    routing_key: string;
    msg: string;
    host?: string;
    fields?: unknown;
  }[];
  next: string | null;
  stream_cursor: string;
}
interface ErrorReply {
  error: { code: string; message: string };
}

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('GET /api/logs', () => {
  let store: TestStore;
  let api: TestApi;

  beforeEach(async () => {
    store = createTestStore();
    api = await createTestApi(store, { now: () => new Date(NOW) });
  });
  afterEach(async () => {
    await api.app.close();
    store.cleanup();
  });

  const get = async (url: string): Promise<{ status: number; body: Body }> => {
    const res = await api.app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json<Body>() };
  };
  const getError = async (url: string): Promise<{ status: number; error: ErrorReply['error'] }> => {
    const res = await api.app.inject({ method: 'GET', url });
    return { status: res.statusCode, error: res.json<ErrorReply>().error };
  };

  it('returns records newest first in the contract shape', async () => {
    store.insert([
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
    ]);
    const { status, body } = await get('/api/logs');
    expect(status).toBe(200);
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
    ]);
  });

  it('rejects a bad pattern with 400 and the pattern code', async () => {
    const { status, error } = await getError('/api/logs?pattern=kern.*x');
    expect(status).toBe(400);
    expect(error.code).toBe('WARREN_BAD_PATTERN');
  });
});
