import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePatterns } from '../../protocol/index.js';
import { runTail, type TailConfig } from '../../dashboard/tail.js';
import { collector as recordingSink, config, ndjson, publishRecord, publishMessage } from './helpers.js';
import { closeNamedConnection } from '../../testkit/broker.js';
import { useRealCollector } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';

/** logtail running into a recording sink; `live` settles once it is live (or has ended early). */
function tailRecording(tail: TailConfig): {
  sink: ReturnType<typeof recordingSink>;
  live: Promise<unknown>;
  stop: () => Promise<void>;
} {
  const sink = recordingSink();
  const controller = new AbortController();
  const done = runTail(tail, sink, controller.signal);
  return {
    sink,
    live: Promise.race([
      waitUntil('the tail to go live', () => sink.statuses.includes('live'), 20_000),
      done,
    ]),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Which request a proxy holds, and whether before asking the collector or before answering. */
interface Hold {
  matches: (url: string) => boolean;
  before: 'forward' | 'answer';
  run: () => Promise<void>;
}

/**
 * A pass-through proxy to the real collector that holds the first request `hold` matches while
 * `hold.run` runs: before `forward`, what it stores then is in that answer; before `answer`, it is
 * stored after the answer's snapshot. It keeps each request and each `/api/logs` answer's position.
 */
async function holdingProxy(
  upstream: string,
  hold: Hold,
): Promise<{ url: string; requests: URL[]; positions: string[]; close(): Promise<void> }> {
  let held = false;
  const requests: URL[] = [];
  const positions: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(new URL(req.url ?? '/', upstream));
    const holding = !held && hold.matches(req.url ?? '');
    if (holding) held = true;
    const history = (req.url ?? '').startsWith('/api/logs?');
    const forward = http.request(`${upstream}${req.url ?? '/'}`, { headers: req.headers }, (answer) => {
      const status = answer.statusCode ?? 502;
      if (!history && !(holding && hold.before === 'answer')) {
        res.writeHead(status, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        if (history)
          positions.push(String((JSON.parse(body.toString()) as { stream_cursor?: unknown }).stream_cursor));
        const send = (): void => {
          res.writeHead(status, answer.headers);
          res.end(body);
        };
        if (!holding || hold.before !== 'answer') return send();
        hold
          .run()
          .then(send, (err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
      });
    });
    forward.on('error', (err) => res.destroy(err));
    // A stream the client closes is closed upstream too.
    res.on('close', () => forward.destroy());
    if (!holding || hold.before !== 'forward') {
      forward.end();
      return;
    }
    hold.run().then(
      () => forward.end(),
      (err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    positions,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The hand-over from history to live by store position, against the real collector: a record that
 * reaches the store late, with a timestamp minutes older than the newest history, and never on
 * logtail's live queue (an agent's spool drained after an outage) is shown, exactly once.
 */
describe('logtail --since hands over by store position', () => {
  const suite = useRealCollector('dashboard-handover');
  const { exchange } = suite;
  // A second way into the archive queue only: logtail's live queue is not bound to it.
  const side = `${exchange}-side`;

  beforeAll(async () => {
    const channel = await suite.connection.createChannel();
    await channel.assertExchange(side, 'topic', { durable: false, autoDelete: false });
    await channel.bindQueue(`${exchange}.archive`, side, '#');
    await channel.close();
  }, 60_000);

  afterAll(async () => {
    const channel = await suite.connection.createChannel();
    await channel.deleteExchange(side);
    await channel.close();
  });

  const stored = async (id: string): Promise<boolean> => {
    const res = await fetch(`${suite.api}/api/logs?pattern=%23&q=${id}&limit=10`);
    const body = (await res.json()) as { records: { id: string }[] };
    return body.records.some((r) => r.id === id);
  };

  it('shows a late record stored after the history read, whatever its timestamp, exactly once', async () => {
    const now = Date.now();
    const history = [1, 2, 3].map((n) => ({
      id: `hist${n}`,
      msg: `hist${n}`,
      ts: new Date(now - 20_000 + n).toISOString(),
    }));
    await publishMessage(suite.connection, exchange, 'app.error', ndjson(history), 'application/x-ndjson');
    await waitUntil('the history is stored', () => stored('hist3'));

    const proxy = await holdingProxy(suite.api, {
      matches: (url) => url.startsWith('/api/logs?'),
      before: 'answer',
      run: async () => {
        // Stored after the history's snapshot: a late record five minutes old, through the archive
        // path only, then a record published now, which logtail's live queue holds as well.
        const late = { id: 'late1', msg: 'late1', ts: new Date(now - 300_000).toISOString() };
        await publishRecord(suite.connection, side, 'app.error', late);
        await publishRecord(suite.connection, exchange, 'app.error', { id: 'live1', msg: 'live1' });
        await waitUntil(
          'the late and the live record are stored',
          async () => (await stored('late1')) && (await stored('live1')),
        );
      },
    });
    const { sink, live, stop } = tailRecording(
      config(exchange, {
        apiUrl: proxy.url,
        patterns: parsePatterns(['app.*']),
        since: new Date(now - 3_600_000),
      }),
    );
    try {
      await live;
      await publishRecord(suite.connection, exchange, 'app.error', { id: 'after1', msg: 'after1' });
      await waitUntil('a record after the hand-over', () => sink.got.some((r) => r.id === 'after1'));
    } finally {
      await stop();
      await proxy.close();
    }
    expect(sink.got.map((r) => r.id)).toEqual(['hist1', 'hist2', 'hist3', 'late1', 'live1', 'after1']);
    expect(sink.notices).toEqual([]);
    expect([sink.droppedBroker, sink.droppedSeam]).toEqual([0, 0]);
  }, 60_000);

  it('after a broker outage, shows a record stored meanwhile with a timestamp minutes older, exactly once', async () => {
    const publishSide = (id: string, ts: string): Promise<void> =>
      publishRecord(suite.connection, side, 'web.error', { id, msg: id, ts });
    // Held before the collector reads it: the reconnect's backfill (not the one-record read of the
    // position at the disconnect), taken after the outage's records are stored.
    const proxy = await holdingProxy(suite.api, {
      matches: (url) => url.startsWith('/api/logs?') && !/[?&]limit=1(&|$)/.test(url),
      before: 'forward',
      run: async () => {
        // Stored during the outage, through the archive only (logtail's old live queue is gone):
        // one just now, which the backfill by time finds too, and one drained from a spool, 5 minutes old.
        await publishSide('outgap1', new Date().toISOString());
        await publishSide('outlate1', new Date(Date.now() - 300_000).toISOString());
        await waitUntil(
          'the outage records are stored',
          async () => (await stored('outgap1')) && (await stored('outlate1')),
        );
      },
    });
    const tail = config(exchange, {
      apiUrl: proxy.url,
      patterns: parsePatterns(['web.*']),
      backfillOnReconnect: true,
    });
    const { sink, live: isLive, stop } = tailRecording(tail);
    try {
      await isLive;
      const live = (id: string): Promise<void> =>
        publishRecord(suite.connection, exchange, 'web.error', { id, msg: id });
      await live('outbefore1');
      await waitUntil('a record before the outage', () => sink.got.some((r) => r.id === 'outbefore1'));
      await waitUntil('it is stored', () => stored('outbefore1'));
      expect(await closeNamedConnection(tail.connectionName)).toBe(1);
      await waitUntil('the disconnect', () => sink.statuses.includes('reconnecting'));
      await waitUntil(
        'the reconnect',
        () => sink.statuses.lastIndexOf('live') > sink.statuses.indexOf('reconnecting'),
        20_000,
      );
      await live('outafter1');
      await waitUntil('a record after the reconnect', () => sink.got.some((r) => r.id === 'outafter1'));
    } finally {
      await stop();
      await proxy.close();
    }
    expect(sink.got.map((r) => r.id)).toEqual(['outbefore1', 'outgap1', 'outlate1', 'outafter1']);
    expect(sink.notices).toHaveLength(1);
    expect(sink.notices[0]).toMatch(/reconnected after [\d.]+s; 2 missed record\(s\) filled in from the API/);
    // The store's position at the disconnect, then the backfill by time, then the stream from the
    // disconnect's position (before the outage's records), not from the backfill's (after them).
    expect(proxy.requests.map((u) => u.pathname)).toEqual(['/api/logs', '/api/logs', '/api/logs/stream']);
    expect(proxy.requests[0]?.searchParams.get('limit')).toBe('1');
    const [atDisconnect, atBackfill] = proxy.positions.map(Number);
    expect(atDisconnect).toBeLessThan(atBackfill ?? 0);
    expect(proxy.requests[2]?.searchParams.get('cursor')).toBe(proxy.positions[0]);
  }, 60_000);
});
