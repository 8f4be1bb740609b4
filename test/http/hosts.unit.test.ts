import { afterEach, describe, expect, it } from 'vitest';
import { allowedHosts, hostAllowed, hostName } from '../../collector/http/hosts.js';
import { createTestApi, createTestStore, type TestApi, type TestStore } from './fixtures.js';

describe('the Host guard (DNS rebinding)', () => {
  it('reads the name of a Host header without port or brackets', () => {
    expect(hostName('LocalHost:8080')).toBe('localhost');
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('127.0.0.1')).toBe('127.0.0.1');
    expect(hostName('evil.example')).toBe('evil.example');
  });

  it('on a loopback bind answers loopback names and the allowed ones only', () => {
    const allowed = allowedHosts('127.0.0.1', ['logs.internal']);
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '127.0.0.2', 'LOGS.internal:80'])
      expect(hostAllowed(host, allowed)).toBe(true);
    for (const host of ['evil.example', 'evil.example:8080', '10.0.0.1:8080', undefined, ''])
      expect(hostAllowed(host, allowed)).toBe(false);
  });

  it('on another bind answers every name unless --allow-host narrows it', () => {
    expect(allowedHosts('0.0.0.0', [])).toBeNull();
    expect(hostAllowed('anything.example', allowedHosts('0.0.0.0', []))).toBe(true);
    const narrowed = allowedHosts('0.0.0.0', ['logs.example.com']);
    expect(hostAllowed('logs.example.com:8080', narrowed)).toBe(true);
    expect(hostAllowed('evil.example', narrowed)).toBe(false);
  });

  describe('in the API', () => {
    let store: TestStore;
    let api: TestApi;
    afterEach(async () => {
      await api.app.close();
      await store.cleanup();
    });

    it('refuses a foreign Host with 403 WARREN_BAD_HOST and a hint naming the flag, on every route', async () => {
      store = await createTestStore();
      api = await createTestApi(store, { allowedHosts: allowedHosts('127.0.0.1', []) });
      for (const url of ['/api/logs', '/api/stats', '/healthz', '/metrics']) {
        const refused = await api.app.inject({ url, headers: { host: 'rebound.example:8080' } });
        expect(refused.statusCode).toBe(403);
        const body = refused.json<{ error: { code: string; hint: string } }>();
        expect(body.error.code).toBe('WARREN_BAD_HOST');
        expect(body.error.hint).toContain('--allow-host');
      }
      const ok = await api.app.inject({ url: '/api/logs', headers: { host: 'localhost:8080' } });
      expect(ok.statusCode).toBe(200);
    });
  });
});
