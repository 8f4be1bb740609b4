import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChannelModel } from 'amqplib';
import pino from 'pino';
import { declareExchanges, topologyNames } from '../../protocol/index.js';
import { AMQP_URL, deleteTopology, openConnection, uniqueName } from '../support/broker.js';

export { AMQP_URL, uniqueName };

/** A received record with the key and message it came in. */
export interface Received {
  key: string;
  messageId: string | undefined;
  contentType: string | undefined;
  record: { id: string; msg: string; severity: string; facility: string; [k: string]: unknown };
}

/** A test exchange with Warren's topology and one queue bound to `#` that collects everything. */
export interface Sink {
  exchange: string;
  queue: string;
  connection: ChannelModel;
  /** Takes every message now in the queue (and keeps them in `received`). */
  take(): Promise<Received[]>;
  received: Received[];
  /** Polls until `predicate(received)` holds or `timeoutMs` passes. */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function createSink(area: string): Promise<Sink> {
  const exchange = uniqueName(area);
  // Named as a collector's archive queue: logship sees the exchange served and does not warn.
  const queue = topologyNames(exchange).archive;
  const connection = await openConnection(`${exchange}-sink`);
  await declareExchanges(connection, topologyNames(exchange));
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: false, autoDelete: false });
  await channel.bindQueue(queue, exchange, '#');
  const received: Received[] = [];
  async function take(): Promise<Received[]> {
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) return received;
      for (const line of message.content.toString('utf8').split('\n')) {
        if (line === '') continue;
        received.push({
          key: message.fields.routingKey,
          messageId: message.properties.messageId as string | undefined,
          contentType: message.properties.contentType as string | undefined,
          record: JSON.parse(line) as Received['record'],
        });
      }
    }
  }
  return {
    exchange,
    queue,
    connection,
    received,
    take,
    async waitFor(predicate, timeoutMs = 15_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await take();
        if (predicate(received)) return received;
        if (Date.now() > deadline) return received;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close(): Promise<void> {
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
      await deleteTopology(connection, exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'warren-agents-'));
}

export const silentLogger = pino({ level: 'silent' });

/** Records deduplicated by id, first arrival kept (what the collector does). */
export function dedupe(received: readonly Received[]): Received[] {
  const seen = new Set<string>();
  return received.filter((r) => (seen.has(r.record.id) ? false : (seen.add(r.record.id), true)));
}

/** The sequence number at the end of a record id (`host:lane:seq`). */
export function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(':') + 1));
}

/** Closes our own named connection on the broker (not anybody else's). */
export function closeNamedConnection(name: string): boolean {
  const out = execFileSync('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q'], {
    encoding: 'utf8',
  });
  let closed = false;
  for (const line of out.split('\n')) {
    if (!line.includes(`{"connection_name","${name}"}`)) continue;
    const pid = line.split('\t')[0] ?? '';
    execFileSync('rabbitmqctl', ['close_connection', pid, 'warren agents test'], { stdio: 'ignore' });
    closed = true;
  }
  return closed;
}

/** A TCP proxy on loopback to the broker that a test can cut and restore. */
export interface Proxy {
  port: number;
  url: string;
  /** Stops listening and drops every connection (the broker "goes away"). */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(listening = true): Promise<Proxy> {
  const target = new URL(AMQP_URL);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(p));
    });
  });
  const listen = (): Promise<void> =>
    new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const cut = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };
  if (listening) await listen();
  const url = `amqp://${target.username}:${target.password}@127.0.0.1:${port}`;
  return { port, url, cut, restore: listen, close: cut };
}

/** Resolves when `check()` is true (polled), or rejects after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
