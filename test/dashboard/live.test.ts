import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePatterns, type StoredRecord } from '../../protocol/index.js';
import { runTail, type TailConfig } from '../../dashboard/tail.js';
import {
  collector,
  config,
  type Collected,
  fakeApi,
  type FakeAnswer,
  ndjson,
  publishRecord,
  publishMessage,
} from './helpers.js';
import { AMQP_URL, closeNamedConnection, deleteTopology, uniqueName } from '../../testkit/broker.js';
import { waitUntil } from '../../testkit/wait.js';

let connection: ChannelModel;
const exchanges: string[] = [];

beforeAll(async () => {
  connection = await amqp.connect(AMQP_URL);
});

afterAll(async () => {
  for (const e of exchanges) await deleteTopology(e);
  await connection.close();
});

/** Starts a tail and resolves once it is bound and live. */
async function startTail(cfg: TailConfig, sink: Collected): Promise<{ stop(): Promise<void> }> {
  const controller = new AbortController();
  const done = runTail(cfg, sink, controller.signal);
  done.catch(() => undefined);
  await Promise.race([waitUntil('the tail to go live', () => sink.statuses.includes('live')), done]);
  return {
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const msgs = (records: readonly StoredRecord[]): string[] => records.map((r) => r.msg);

describe('logtail live, against the real broker', () => {
  it('gets what its patterns and severity ranges bind, and nothing else', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const sink = collector();
    const tail = await startTail(config(exchange, { patterns: parsePatterns(['kern.*', '*.err+']) }), sink);
    const sent: [string, string][] = [
      ['kern.debug', 'kern-debug'],
      ['app.warning', 'app-warning-NOT'],
      ['app.error', 'app-error'],
      ['auth.info', 'auth-info-NOT'],
      ['db.alert', 'db-alert'],
      ['app.critical', 'app-critical'],
    ];
    for (const [key, msg] of sent) {
      await publishRecord(connection, exchange, key, { msg, id: msg });
    }
    await waitUntil('four matching records', () => sink.got.length >= 4);
    await new Promise((r) => setTimeout(r, 200));
    await tail.stop();
    expect(msgs(sink.got)).toEqual(['kern-debug', 'app-error', 'db-alert', 'app-critical']);
    expect(sink.got[2]).toMatchObject({ facility: 'db', severity: 'alert', routing_key: 'db.alert' });
  });

  it('tails a plain-text message from a foreign publisher and NDJSON batches', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const sink = collector();
    const tail = await startTail(config(exchange), sink);
    await publishMessage(connection, exchange, 'kern.critical', 'disk failure on sda\n');
    await publishMessage(
      connection,
      exchange,
      'app.info',
      ndjson([{ msg: 'b1' }, { msg: 'b2', host: 'web-01' }]),
      'application/x-ndjson',
      'batch-1',
    );
    await waitUntil('three records', () => sink.got.length >= 3);
    await tail.stop();
    expect(sink.got[0]).toMatchObject({ msg: 'disk failure on sda', facility: 'kern', severity: 'critical' });
    expect(sink.got.slice(1)).toMatchObject([
      { msg: 'b1', id: 'batch-1:0' },
      { msg: 'b2', id: 'batch-1:1', host: 'web-01' },
    ]);
    expect(sink.statuses).toEqual(['connecting', 'live', 'closed']);
  });

  it('applies -q (words of the message, as the API matches them) and --host to the live stream', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const sink = collector();
    const tail = await startTail(config(exchange, { query: 'disk "on sda"', host: 'web-01' }), sink);
    const batch = [
      { msg: 'Disk failure on SDA', host: 'web-01' },
      { msg: 'disk failure on sdb', host: 'web-01' },
      { msg: 'disk failure on sda', host: 'web-02' },
      { msg: 'cpu', host: 'web-01', fields: { note: 'disk on sda' } },
    ];
    await publishMessage(connection, exchange, 'kern.error', ndjson(batch), 'application/x-ndjson', 'q-1');
    await waitUntil('one record', () => sink.got.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    await tail.stop();
    expect(msgs(sink.got)).toEqual(['Disk failure on SDA']);
  });

  it('hands over from history to live with no gap and no duplicate, records arriving during the backfill included', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const sink = collector();
    const live = (n: number): object => ({ id: `live-${n}`, msg: `live-${n}`, ts: new Date().toISOString() });
    const stored = (n: number): object => ({
      ...live(n),
      facility: 'app',
      severity: 'info',
      routing_key: 'app.info',
    });
    let pages = 0;
    const api = await fakeApi(async (url) => {
      pages++;
      if (url.searchParams.get('cursor') === null) {
        // The backfill is running: records published now reach the live queue (bound already)
        // and the store alike; the history's first page includes two of them.
        await publishMessage(
          connection,
          exchange,
          'app.info',
          ndjson([live(1), live(2), live(3)]),
          'application/x-ndjson',
        );
        await new Promise((r) => setTimeout(r, 300));
        const history = [
          {
            id: 'old-1',
            msg: 'old-1',
            ts: '2026-11-21T21:00:00.000Z',
            facility: 'app',
            severity: 'info',
            routing_key: 'app.info',
          },
          {
            id: 'old-2',
            msg: 'old-2',
            ts: '2026-11-21T21:00:01.000Z',
            facility: 'app',
            severity: 'warning',
            routing_key: 'app.warning',
          },
          stored(1),
          stored(2),
        ];
        return { body: { records: history, next: 'page-2' } };
      }
      await publishMessage(connection, exchange, 'app.info', ndjson([live(4)]), 'application/x-ndjson');
      return { body: { records: [stored(3)], next: null } };
    });
    try {
      const tail = await startTail(
        config(exchange, { since: new Date(Date.now() - 3_600_000), apiUrl: api.url }),
        sink,
      );
      await publishMessage(connection, exchange, 'app.info', ndjson([live(5)]), 'application/x-ndjson');
      await waitUntil('the record published after the seam', () => sink.got.some((r) => r.msg === 'live-5'));
      await tail.stop();
    } finally {
      await api.close();
    }
    expect(pages).toBe(2);
    expect(msgs(sink.got)).toEqual(['old-1', 'old-2', 'live-1', 'live-2', 'live-3', 'live-4', 'live-5']);
    expect(sink.statuses.slice(0, 3)).toEqual(['connecting', 'backfilling', 'live']);
    const query = api.requests[0];
    expect(query?.searchParams.get('order')).toBe('asc');
    expect(query?.searchParams.getAll('pattern')).toEqual(['#']);
  });

  it("follows the store's stream from the history's position, and says when it skipped records or was reset", async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const sink = collector();
    const old = {
      id: 'old-1',
      msg: 'old-1',
      ts: '2026-11-21T21:00:00.000Z',
      facility: 'app',
      severity: 'info',
    };
    // As the collector writes them: a comment, retry, CRLF endings, a record's JSON over two data lines.
    const events =
      'retry: 2000\nid: 7\n: stream open after 7\n\n' +
      'event: dropped\r\nid: 20\r\ndata: {"count":12,"from":7,"to":20}\r\n\r\n' +
      'event: reset\nid: 3\ndata: {"requested":20,"head":3}\n\n' +
      'id: 4\ndata: {"id":"late-1","msg":"late-1","ts":"2026-11-21T20:00:00.000Z",\n' +
      'data: "facility":"app","severity":"info","routing_key":"app.info"}\n\n';
    const api = await fakeApi((url) =>
      Promise.resolve(
        url.pathname === '/api/logs/stream'
          ? { events }
          : { body: { records: [{ ...old, routing_key: 'app.info' }], next: null, stream_cursor: '7' } },
      ),
    );
    try {
      const tail = await startTail(
        config(exchange, { since: new Date(Date.now() - 3_600_000), apiUrl: api.url, host: 'web-01' }),
        sink,
      );
      await publishRecord(connection, exchange, 'app.info', { msg: 'live-1', host: 'web-01' });
      await waitUntil('a live record', () => sink.got.some((r) => r.msg === 'live-1'));
      await tail.stop();
    } finally {
      await api.close();
    }
    expect(msgs(sink.got)).toEqual(['old-1', 'late-1', 'live-1']);
    expect(sink.notices).toEqual([
      'the collector skipped 12 stored record(s) while logtail caught up with it; they may be missing',
      "the collector's store was reset (rebuilt or emptied) while logtail caught up with it; records may be missing",
    ]);
    const [history, stream] = api.requests;
    expect(stream?.pathname).toBe('/api/logs/stream');
    expect(stream?.searchParams.get('cursor')).toBe('7');
    for (const name of ['pattern', 'since', 'host']) {
      expect(stream?.searchParams.getAll(name)).toEqual(history?.searchParams.getAll(name));
    }
  });

  it('caps its queue, counts every record the broker dropped, and loses none silently', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The output is stuck (like a terminal that cannot keep up): the first batch never settles.
    const sink = collector(() => gate);
    const tail = await startTail(config(exchange, { maxLength: 5, prefetch: 1 }), sink);
    const messages = 40;
    for (let i = 0; i < messages; i++) {
      await publishMessage(
        connection,
        exchange,
        'app.info',
        ndjson([{ msg: `m${i}-a` }, { msg: `m${i}-b` }, { msg: `m${i}-c` }]),
        'application/x-ndjson',
      );
    }
    await waitUntil('the broker to drop', () => sink.droppedBroker > 0 && sink.got.length > 0);
    release();
    await waitUntil(
      'every record to be shown or counted',
      () => sink.got.length + sink.droppedBroker === messages * 3,
    );
    await tail.stop();
    expect(sink.droppedBroker % 3).toBe(0);
    expect(sink.droppedBroker).toBeGreaterThanOrEqual((messages - 1 - 5) * 3);
    // What was kept is the newest: drop-head drops the oldest.
    expect(sink.got[sink.got.length - 1]?.msg).toBe(`m${messages - 1}-c`);
  });

  /**
   * A tail with a fake API that reconnects after its connection is closed; `position` answers the
   * one-record read of the store's position at the disconnect (`limit=1`).
   */
  async function outage(position: FakeAnswer): Promise<{ sink: Collected; requests: URL[] }> {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const sink = collector();
    const api = await fakeApi((url) => {
      // After the history, the tail follows the store's stream from a position.
      if (url.pathname === '/api/logs/stream')
        return Promise.resolve({ events: `: stream open after ${url.searchParams.get('cursor')}\n\n` });
      if (url.searchParams.get('limit') === '1') return Promise.resolve(position);
      const since = new Date(url.searchParams.get('since') ?? 0).getTime();
      // What the collector stored while this tail was away.
      return Promise.resolve({
        body: {
          stream_cursor: '41',
          records: [
            {
              id: 'missed-1',
              msg: 'missed-1',
              ts: new Date(since + 10_500).toISOString(),
              facility: 'app',
              severity: 'error',
              routing_key: 'app.error',
            },
          ],
          next: null,
        },
      });
    });
    const cfg = config(exchange, {
      backfillOnReconnect: true,
      apiUrl: api.url,
      patterns: parsePatterns(['app.*']),
    });
    try {
      const tail = await startTail(cfg, sink);
      await publishRecord(connection, exchange, 'app.info', { msg: 'before', id: 'before' });
      await waitUntil('the first record', () => sink.got.length === 1);
      expect(await closeNamedConnection(cfg.connectionName)).toBe(1);
      await waitUntil('the disconnect', () => sink.statuses.includes('reconnecting'));
      await waitUntil(
        'the reconnect',
        () => sink.statuses.lastIndexOf('live') > sink.statuses.indexOf('reconnecting'),
      );
      await publishRecord(connection, exchange, 'app.info', { msg: 'after', id: 'after' });
      await waitUntil('a record after the reconnect', () => sink.got.some((r) => r.msg === 'after'));
      await tail.stop();
    } finally {
      await api.close();
    }
    return { sink, requests: api.requests };
  }

  it('reconnects after its connection is closed, re-binds, and backfills the outage from the API', async () => {
    const { sink, requests } = await outage({ body: { records: [], next: null, stream_cursor: '40' } });
    expect(msgs(sink.got)).toEqual(['before', 'missed-1', 'after']);
    expect(sink.notices).toHaveLength(1);
    expect(sink.notices[0]).toMatch(/reconnected after [\d.]+s; 1 missed record\(s\) filled in from the API/);
    // The store's position at the disconnect, one read of the outage, then the store's stream from
    // the disconnect's position with any timestamp (a quiet stream gives up after 1.5 s), never a poll.
    expect(requests.map((u) => u.pathname)).toEqual(['/api/logs', '/api/logs', '/api/logs/stream']);
    expect(requests[0]?.searchParams.get('limit')).toBe('1');
    expect(requests[2]?.searchParams.get('cursor')).toBe('40');
    expect(requests[2]?.searchParams.get('since')).toBe(new Date(0).toISOString());
  });

  it('says so, and streams from the backfill, when the position at the disconnect could not be read', async () => {
    const { sink, requests } = await outage({ status: 503, body: { error: { message: 'busy' } } });
    expect(msgs(sink.got)).toEqual(['before', 'missed-1', 'after']);
    expect(sink.notices).toHaveLength(2);
    expect(sink.notices[0]).toMatch(
      /records published during the outage with older timestamps may be missing/,
    );
    expect(sink.notices[1]).toMatch(/1 missed record\(s\) filled in from the API/);
    expect(requests.map((u) => u.pathname)).toEqual(['/api/logs', '/api/logs', '/api/logs/stream']);
    expect(requests[2]?.searchParams.get('cursor')).toBe('41');
    expect(requests[2]?.searchParams.get('since')).toBe(requests[1]?.searchParams.get('since'));
  });
});
