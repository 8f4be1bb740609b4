import net, { type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamOptions } from '../../collector/http/stream.js';
import { createTestApi, createTestStore, MINUTE, type TestApi, type TestStore } from './fixtures.js';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A minimal SSE reader over fetch: events as they arrive, parsed per the spec's field lines. */
class SseClient {
  readonly events: SseEvent[] = [];
  private readonly controller = new AbortController();
  private buffer = '';
  private waiters: (() => void)[] = [];
  status = 0;
  headers: Headers | undefined;
  private done: Promise<void> = Promise.resolve();

  async open(url: string, headers: Record<string, string> = {}): Promise<void> {
    const res = await fetch(url, { headers, signal: this.controller.signal });
    this.status = res.status;
    this.headers = res.headers;
    const reader = res.body?.getReader();
    if (reader === undefined) return;
    const decoder = new TextDecoder();
    this.done = (async () => {
      for (;;) {
        const chunk: { done: boolean; value?: Uint8Array | undefined } = await reader
          .read()
          .catch(() => ({ done: true }));
        if (chunk.done) break;
        this.buffer += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(':');
              const field = line.slice(0, colon);
              const value = line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id' || field === 'event' || field === 'data') event[field] = value;
            }
          }
          this.events.push(event);
        }
        for (const wake of this.waiters.splice(0)) wake();
      }
      for (const wake of this.waiters.splice(0)) wake();
    })();
  }

  records(): { id: string; seq: string }[] {
    return this.events
      .filter((e) => e.data !== undefined && e.event === undefined)
      .map((e) => ({ id: (JSON.parse(e.data ?? '{}') as { id: string }).id, seq: e.id ?? '' }));
  }

  async waitFor(pred: (c: SseClient) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline) throw new Error(`timed out; events so far: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

describe('GET /api/logs/stream', () => {
  let store: TestStore;
  let api: TestApi;
  let base: string;
  const clients: SseClient[] = [];

  const connect = async (path: string, headers: Record<string, string> = {}): Promise<SseClient> => {
    const client = new SseClient();
    clients.push(client);
    await client.open(`${base}${path}`, headers);
    return client;
  };

  const store1 = async (id: string, key = 'kern.critical', msg = `message ${id}`): Promise<number> => {
    const lastSeq = await store.insert([{ id, ts: Date.now(), key, msg, host: 'web-01' }]);
    api.events.emit('stored', { lastSeq });
    return lastSeq;
  };

  /** Restarts the API with these stream options and opens a raw stream that reads nothing, so the server's writes back up. */
  const stalledStream = async (stream: Partial<StreamOptions>): Promise<Socket> => {
    await api.app.close();
    api = await createTestApi(store, { stream });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const address = api.app.server.address();
    const socket = net.connect(
      typeof address === 'object' && address !== null ? address.port : 0,
      '127.0.0.1',
    );
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /api/logs/stream HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.pause();
    return socket;
  };

  beforeEach(async () => {
    store = await createTestStore();
    api = await createTestApi(store, { stream: { heartbeatMs: 100, pollMs: 60_000, maxStreams: 3 } });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const address = api.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await api.app.close();
    await store.cleanup();
  });

  it('sends records stored after it opened, filtered, with their seq as event id', async () => {
    await store1('before');
    const client = await connect('/api/logs/stream?pattern=kern.*&q=disk');
    expect(client.status).toBe(200);
    expect(client.headers?.get('content-type')).toMatch(/^text\/event-stream/);
    const s1 = await store1('k1', 'kern.critical', 'disk failure');
    await store1('other-key', 'auth.critical', 'disk failure');
    await store1('other-text', 'kern.info', 'all fine');
    const s2 = await store1('k2', 'kern.info', 'disk ok');
    await client.waitFor((c) => c.records().length >= 2);
    expect(client.records()).toEqual([
      { id: 'k1', seq: String(s1) },
      { id: 'k2', seq: String(s2) },
    ]);
    const first = client.events.find((e) => e.data !== undefined);
    expect(JSON.parse(first?.data ?? '{}')).toMatchObject({
      id: 'k1',
      facility: 'kern',
      severity: 'critical',
      routing_key: 'kern.critical',
      msg: 'disk failure',
    });
  });

  it('selects keys by severity spelling as /api/logs does, and by a plain pattern its own name', async () => {
    const client = await connect('/api/logs/stream?pattern=*.error%2B&pattern=app.verbose');
    await store1('syslog-ng', 'local3.err');
    await store1('upper', 'KERN.CRIT');
    await store1('too-mild', 'daemon.warn');
    await store1('verbose', 'app.verbose');
    await client.waitFor((c) => c.records().length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.records().map((r) => r.id)).toEqual(['syslog-ng', 'upper', 'verbose']);
  });

  it('resumes after Last-Event-ID with no gap and no duplicate', async () => {
    const first = await connect('/api/logs/stream?pattern=kern.*');
    await store1('a');
    await store1('b');
    await first.waitFor((c) => c.records().length === 2);
    const lastId = first.records()[1]?.seq ?? '';
    await first.close();
    // stored while nobody listened
    await store1('c');
    await store1('d', 'auth.info');
    await store1('e');
    const second = await connect('/api/logs/stream?pattern=kern.*', { 'last-event-id': lastId });
    await store1('f');
    await second.waitFor((c) => c.records().length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(second.records().map((r) => r.id)).toEqual(['c', 'e', 'f']);
  });

  it("resumes from ?cursor= (e.g. a page answer's stream_cursor) and Last-Event-ID wins over it", async () => {
    await store1('old', 'kern.info');
    const page = await api.app.inject({ method: 'GET', url: '/api/logs' });
    const { stream_cursor: cursor } = page.json<{ stream_cursor: string }>();
    await store1('new1');
    const fromCursor = await connect(`/api/logs/stream?cursor=${cursor}`);
    await fromCursor.waitFor((c) => c.records().length === 1);
    expect(fromCursor.records().map((r) => r.id)).toEqual(['new1']);
    const seqNew1 = fromCursor.records()[0]?.seq ?? '';
    await store1('new2');
    const both = await connect('/api/logs/stream?cursor=0', { 'last-event-id': seqNew1 });
    await both.waitFor((c) => c.records().length === 1);
    expect(both.records().map((r) => r.id)).toEqual(['new2']);
  });

  it('says reset when asked to resume past the newest record, and starts at the newest', async () => {
    const head = await store1('one');
    const client = await connect('/api/logs/stream', { 'last-event-id': '999' });
    await client.waitFor((c) => c.events.some((e) => e.event === 'reset'));
    const reset = client.events.find((e) => e.event === 'reset');
    expect(JSON.parse(reset?.data ?? '{}')).toEqual({ requested: 999, head });
    await store1('two');
    await client.waitFor((c) => c.records().length === 1);
    expect(client.records().map((r) => r.id)).toEqual(['two']);
  });

  it('ends open streams when the API closes, so shutdown does not hang', async () => {
    const client = await connect('/api/logs/stream');
    await client.waitFor((c) => c.events.length >= 1);
    await api.app.close();
    await client.close();
  });

  it('says reset when the store no longer reaches the position it streamed from', async () => {
    const client = await connect('/api/logs/stream');
    await store1('a');
    await store1('b');
    await client.waitFor((c) => c.records().length === 2);
    // the store was made anew (or, on SQLite, retention removed everything): low seqs come again
    await store.recreate();
    api.events.emit('stored', { lastSeq: 0 });
    await client.waitFor((c) => c.events.some((e) => e.event === 'reset'));
    expect(JSON.parse(client.events.find((e) => e.event === 'reset')?.data ?? '{}')).toEqual({
      requested: 2,
      head: 0,
    });
    await store1('c');
    await client.waitFor((c) => c.records().length === 3);
    expect(client.records().map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('sends heartbeat comments while idle', async () => {
    const client = await connect('/api/logs/stream');
    await client.waitFor((c) => c.events.filter((e) => e.comment === 'keepalive').length >= 2);
  });

  it('delivers without a stored event, by polling', async () => {
    await api.app.close();
    api = await createTestApi(store, { stream: { heartbeatMs: 10_000, pollMs: 50 } });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const address = api.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const client = await connect('/api/logs/stream');
    await store.insert([{ id: 'quiet', ts: Date.now(), key: 'kern.info', msg: 'no event emitted' }]);
    await client.waitFor((c) => c.records().length === 1);
  });

  it('limits concurrent streams with 503 WARREN_TOO_MANY_STREAMS', async () => {
    await connect('/api/logs/stream');
    await connect('/api/logs/stream');
    await connect('/api/logs/stream');
    const res = await fetch(`${base}/api/logs/stream`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('WARREN_TOO_MANY_STREAMS');
  });

  it('rejects bad filters before streaming', async () => {
    for (const [path, code] of [
      ['/api/logs/stream?pattern=..', 'WARREN_BAD_PATTERN'],
      ['/api/logs/stream?cursor=abc', 'WARREN_BAD_REQUEST'],
      ['/api/logs/stream?since=soon', 'WARREN_BAD_DURATION'],
    ] as const) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const res = await fetch(`${base}/api/logs/stream`, { headers: { 'last-event-id': 'x1' } });
    expect(res.status).toBe(400);
  });

  it('disconnects a client whose socket takes nothing for too long', async () => {
    const stallMs = 200;
    const socket = await stalledStream({ heartbeatMs: 50, pollMs: 60_000, stallMs });
    const streams = async (): Promise<string> =>
      /warren_http_streams (\d+)/.exec(
        (await api.app.inject({ method: 'GET', url: '/metrics' })).body,
      )?.[1] ?? '';
    for (let i = 0; i < 100 && (await streams()) !== '1'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await streams()).toBe('1');
    const stalledFrom = Date.now();
    const big = 'y'.repeat(4000);
    for (let i = 0; i < 20; i++) {
      const lastSeq = await store.insert(
        Array.from({ length: 200 }, (_, j) => ({
          id: `stall-${i}-${j}`,
          ts: Date.now(),
          key: 'kern.info',
          msg: big,
        })),
      );
      api.events.emit('stored', { lastSeq });
    }
    // the socket never reads, so the server must give up on it, and not before it stalled that long
    const deadline = Date.now() + 10_000;
    while ((await streams()) !== '0' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await streams()).toBe('0');
    expect(Date.now() - stalledFrom).toBeGreaterThanOrEqual(stallMs);
    socket.destroy();
  });

  it('tells a client that fell too far behind how many records it skipped', async () => {
    const socket = await stalledStream({ heartbeatMs: 10_000, pollMs: 60_000, maxLag: 1000, batchSize: 200 });
    await new Promise((r) => setTimeout(r, 100));
    const big = 'x'.repeat(2000);
    for (let i = 0; i < 40; i++) {
      const lastSeq = await store.insert(
        Array.from({ length: 250 }, (_, j) => ({
          id: `bulk-${i}-${j}`,
          ts: Date.now() - MINUTE,
          key: 'kern.info',
          msg: `bulk ${big}`,
        })),
      );
      api.events.emit('stored', { lastSeq });
    }
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.resume();
    const deadline = Date.now() + 10_000;
    while (!/event: dropped/.test(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const match = /event: dropped\nid: (\d+)\ndata: (.*)\n/.exec(text);
    expect(match, 'an event: dropped').not.toBeNull();
    const info = JSON.parse(match?.[2] ?? '{}') as { count: number; from: number; to: number };
    expect(info.to).toBe(10_000);
    expect(info.count).toBe(info.to - info.from);
    expect(info.count).toBeGreaterThan(1000);
    // what was sent plus what was skipped is everything, once
    const sent = text
      .split('\n\n')
      .map((block) => /^id: (\d+)\ndata: /.exec(block))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent).size).toBe(sent.length);
    expect(
      sent.filter((seq) => seq > info.from && seq <= info.to),
      JSON.stringify(info),
    ).toEqual([]);
  });
});
