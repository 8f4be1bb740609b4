import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePatterns } from '../../protocol/index.js';
import { runTail } from '../../dashboard/tail.js';
import { deleteTopology, openConnection, uniqueName } from '../support/broker.js';
import { startCollector, stopBin, waitUntil, type RunningBin } from '../support/processes.js';
import { collector as recordingSink, config, ndjson, publish, waitFor } from './helpers.js';

/**
 * A pass-through proxy to the real collector that holds the answer to the first history request
 * while `beforeFirstAnswer` runs: what it stores then is stored after the history was read.
 */
async function holdingProxy(
  upstream: string,
  beforeFirstAnswer: () => Promise<void>,
): Promise<{ url: string; close(): Promise<void> }> {
  let held = false;
  const server = http.createServer((req, res) => {
    const hold = !held && (req.url ?? '').startsWith('/api/logs?');
    if (hold) held = true;
    const forward = http.request(`${upstream}${req.url ?? '/'}`, { headers: req.headers }, (answer) => {
      const status = answer.statusCode ?? 502;
      if (!hold) {
        res.writeHead(status, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        beforeFirstAnswer().then(
          () => {
            res.writeHead(status, answer.headers);
            res.end(Buffer.concat(chunks));
          },
          (err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))),
        );
      });
    });
    forward.on('error', (err) => res.destroy(err));
    // A stream the client closes is closed upstream too.
    res.on('close', () => forward.destroy());
    forward.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
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
  const exchange = uniqueName('dashboard-handover');
  // A second way into the archive queue only: logtail's live queue is not bound to it.
  const side = `${exchange}-side`;
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-handover-'));
  let api = '';
  let connection: ChannelModel;
  let collector: RunningBin;

  beforeAll(async () => {
    connection = await openConnection(`${exchange}-client`);
    ({ collector, api } = await startCollector(exchange, dir));
    const channel = await connection.createChannel();
    await channel.assertExchange(side, 'topic', { durable: false, autoDelete: false });
    await channel.bindQueue(`${exchange}.archive`, side, '#');
    await channel.close();
  }, 60_000);

  afterAll(async () => {
    if (collector !== undefined) await stopBin(collector);
    const channel = await connection.createChannel();
    await channel.deleteExchange(side);
    await channel.close();
    await deleteTopology(connection, exchange);
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (id: string): Promise<boolean> => {
    const res = await fetch(`${api}/api/logs?pattern=%23&q=${id}&limit=10`);
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
    await publish(connection, exchange, 'app.error', ndjson(history), 'application/x-ndjson');
    await waitUntil('the history is stored', () => stored('hist3'));

    const proxy = await holdingProxy(api, async () => {
      // Stored after the history's snapshot: a late record five minutes old, through the archive
      // path only, then a record published now, which logtail's live queue holds as well.
      const late = { id: 'late1', msg: 'late1', ts: new Date(now - 300_000).toISOString() };
      await publish(connection, side, 'app.error', JSON.stringify(late), 'application/json');
      await publish(
        connection,
        exchange,
        'app.error',
        JSON.stringify({ id: 'live1', msg: 'live1' }),
        'application/json',
      );
      await waitUntil(
        'the late and the live record are stored',
        async () => (await stored('late1')) && (await stored('live1')),
      );
    });
    const sink = recordingSink();
    const controller = new AbortController();
    const tail = config(exchange, {
      apiUrl: proxy.url,
      patterns: parsePatterns(['app.*']),
      since: new Date(now - 3_600_000),
    });
    const done = runTail(tail, sink, controller.signal);
    try {
      await Promise.race([
        waitFor(() => sink.statuses.includes('live'), 'the tail to go live', 20_000),
        done,
      ]);
      await publish(
        connection,
        exchange,
        'app.error',
        JSON.stringify({ id: 'after1', msg: 'after1' }),
        'application/json',
      );
      await waitFor(() => sink.got.some((r) => r.id === 'after1'), 'a record after the hand-over');
    } finally {
      controller.abort();
      await done;
      await proxy.close();
    }
    expect(sink.got.map((r) => r.id)).toEqual(['hist1', 'hist2', 'hist3', 'late1', 'live1', 'after1']);
    expect(sink.notices).toEqual([]);
    expect([sink.droppedBroker, sink.droppedSeam]).toEqual([0, 0]);
  }, 60_000);
});
