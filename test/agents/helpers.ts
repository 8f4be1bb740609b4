import type { ChannelModel } from 'amqplib';
import pino from 'pino';
import { declareExchanges, topologyNames } from '../../protocol/index.js';
import { deleteTopology, openConnection, uniqueName } from '../../testkit/broker.js';

/** A received record with the key and message it came in. */
export interface Received {
  key: string;
  messageId: string | undefined;
  contentType: string | undefined;
  /** The body's line as sent: facility and severity are the routing key's (CONTRACT §4). */
  record: { id: string; msg: string; [k: string]: unknown };
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
  const exchange = uniqueName(`test-${area}`);
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
      await deleteTopology(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
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
