import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApi, createTestStore, HOUR, MINUTE, type TestApi, type TestStore } from './fixtures.js';

interface ErrorReply {
  error: { code: string; message: string; hint?: string };
}

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('operations routes', () => {
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

  it('GET /healthz says ok', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it.each([
    [true, true, 200, []],
    [false, true, 503, ['not connected to the broker']],
    [true, false, 503, ['the store is not writable']],
    [false, false, 503, ['not connected to the broker', 'the store is not writable']],
  ])('GET /readyz with broker=%s store=%s → %i', async (broker, writable, status, problems) => {
    api.status.brokerConnected = broker;
    api.status.storeWritable = writable;
    const res = await api.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({
      ready: status === 200,
      broker_connected: broker,
      store_writable: writable,
      problems,
    });
  });

  it('GET /metrics serves the collector registry with the API metrics in Prometheus text', async () => {
    const { Counter } = await import('prom-client');
    new Counter({
      name: 'warren_collector_test_total',
      help: 'a collector metric',
      registers: [api.registry],
    }).inc(3);
    await api.app.inject({ method: 'GET', url: '/api/logs' });
    await api.app.inject({ method: 'GET', url: '/api/logs?limit=0' });
    const res = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('warren_collector_test_total 3');
    expect(res.body).toMatch(/warren_http_requests_total\{route="\/api\/logs",method="GET",status="200"\} 1/);
    expect(res.body).toMatch(/warren_http_requests_total\{route="\/api\/logs",method="GET",status="400"\} 1/);
    expect(res.body).toContain('# TYPE warren_http_request_duration_seconds histogram');
    expect(res.body).toContain('warren_http_streams 0');
  });

  it('builds twice on one registry without clashing metric names', async () => {
    const again = await createTestApi(store, { registry: api.registry });
    await again.app.close();
  });

  it('GET /docs/json is an OpenAPI document of every route with its query schema', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, { get: { parameters?: { name: string; in: string }[] } }>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/logs',
        '/api/logs/stream',
        '/api/stats',
        '/healthz',
        '/readyz',
        '/metrics',
      ]),
    );
    const params = (doc.paths['/api/logs']?.get.parameters ?? []).map((p) => p.name);
    expect(params).toEqual(
      expect.arrayContaining(['pattern', 'q', 'since', 'until', 'host', 'limit', 'cursor', 'order']),
    );
    const ui = await api.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });

  it('GET /api/stats counts per facility and severity over since, with collector and store facts', async () => {
    await store.insert([
      { ts: NOW - 5 * MINUTE, key: 'kern.critical', msg: 'a' },
      { ts: NOW - 6 * MINUTE, key: 'kern.critical', msg: 'b' },
      { ts: NOW - 7 * MINUTE, key: 'kern.info', msg: 'c' },
      { ts: NOW - 8 * MINUTE, key: 'auth.error', msg: 'd' },
      { ts: NOW - 3 * HOUR, key: 'auth.error', msg: 'old' },
    ]);
    const res = await api.app.inject({ method: 'GET', url: '/api/stats' });
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      since: new Date(NOW - HOUR).toISOString(),
      until: new Date(NOW).toISOString(),
      total: 4,
      counts: { kern: { critical: 2, info: 1 }, auth: { error: 1 } },
      by_severity: { critical: 2, info: 1, error: 1 },
      by_facility: { kern: 3, auth: 1 },
      ingest_rate: 12.5,
      collector: {
        broker_connected: true,
        store_writable: true,
        stored: 100,
        duplicates: 4,
        dead_lettered: 1,
      },
      queue: { name: 'logs.archive', depth: 3 },
      dead_letter_depth: 1,
      unrouted_depth: 2,
      store: {
        oldest: new Date(NOW - 3 * HOUR).toISOString(),
        newest: new Date(NOW - 5 * MINUTE).toISOString(),
      },
    });
    expect((body.store as { size_bytes: number }).size_bytes).toBeGreaterThan(0);
    const wide = await api.app.inject({ method: 'GET', url: '/api/stats?since=1d' });
    expect(wide.json<{ total: number }>().total).toBe(5);
    const bad = await api.app.inject({ method: 'GET', url: '/api/stats?since=tomorrow' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorReply>().error.code).toBe('WARREN_BAD_DURATION');
  });

  it('GET /api/stats on an empty store has nulls, not errors', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/api/stats' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 0, counts: {}, store: { oldest: null, newest: null } });
  });
});

describe('bearer token', () => {
  const TOKEN = 's3cret-token-value';
  let store: TestStore;
  let api: TestApi;

  beforeEach(async () => {
    store = await createTestStore();
    api = await createTestApi(store, { token: TOKEN });
  });
  afterEach(async () => {
    await api.app.close();
    await store.cleanup();
  });

  it.each(['/api/logs', '/api/logs/stream', '/api/stats', '/metrics', '/api/nothing'])(
    '%s needs the token',
    async (url) => {
      for (const authorization of [
        undefined,
        'Bearer wrong',
        `Bearer ${TOKEN}x`,
        `Basic ${TOKEN}`,
        'Bearer ',
      ]) {
        const res = await api.app.inject({
          method: 'GET',
          url,
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(res.statusCode, `${url} with ${authorization ?? 'nothing'}`).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(res.json<ErrorReply>().error.code).toBe('WARREN_UNAUTHORIZED');
      }
    },
  );

  it('cannot be bypassed by another spelling of the path', async () => {
    for (const url of [
      '/%61pi/logs',
      '/%61%70%69/stats',
      '/%6detrics',
      '/api/logs/',
      '/./api/logs',
      '/x/../api/logs',
      '/api//logs',
    ]) {
      const res = await api.app.inject({ method: 'GET', url });
      expect([401, 404], url).toContain(res.statusCode);
      if (res.statusCode === 404) expect(res.json<ErrorReply>().error.code).toBe('WARREN_NOT_FOUND');
      expect(res.body).not.toContain('records');
    }
    expect((await api.app.inject({ method: 'GET', url: '/%61pi/logs' })).statusCode).toBe(401);
    expect((await api.app.inject({ method: 'GET', url: '/%6detrics' })).statusCode).toBe(401);
  });

  it('accepts the right token', async () => {
    for (const url of ['/api/logs', '/api/stats', '/metrics']) {
      const res = await api.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it('leaves /healthz, /readyz and /docs open', async () => {
    for (const url of ['/healthz', '/readyz', '/docs/json']) {
      const res = await api.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it('never writes the token to the log', async () => {
    await api.app.inject({ method: 'GET', url: '/api/logs', headers: { authorization: `Bearer ${TOKEN}` } });
    await api.app.inject({
      method: 'GET',
      url: '/api/logs',
      headers: { authorization: 'Bearer wrong-guess' },
    });
    expect(api.logLines.length).toBeGreaterThan(0);
    const text = api.logLines.join('');
    expect(text).toContain('/api/logs');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('wrong-guess');
  });
});

describe('without a token', () => {
  it('serves /api to anyone (loopback by default)', async () => {
    const store = await createTestStore();
    const api = await createTestApi(store);
    const res = await api.app.inject({ method: 'GET', url: '/api/logs' });
    expect(res.statusCode).toBe(200);
    await api.app.close();
    await store.cleanup();
  });
});
