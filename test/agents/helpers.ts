import type { ChannelModel } from 'amqplib';
import pino from 'pino';
import { declareExchanges, topologyNames } from '../../protocol/index.js';
import { deleteTopology, openConnection, uniqueName } from '../../testkit/broker.js';

/** A received record with the key and message it came in. */
export interface Received {
  key: string;
  messageId: string | undefined;
  contentType: string | undefined;
  /** The body's line as sent: facility, severity and id are the message's (CONTRACT §4). */
  record: { msg: string; [k: string]: unknown };
  /** The id the collector gives the record (CONTRACT §4): `<message_id>:<n>`, n its line's index. */
  id: string;
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
      const messageId = message.properties.messageId as string | undefined;
      let index = 0;
      for (const line of message.content.toString('utf8').split('\n')) {
        if (line === '') continue;
        received.push({
          key: message.fields.routingKey,
          messageId,
          contentType: message.properties.contentType as string | undefined,
          record: JSON.parse(line) as Received['record'],
          id: `${messageId ?? ''}:${index++}`,
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
  return received.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}

/**
 * Orders one lane's records as they were logged, from an id `host:lane:<first seq>:<n>`: the
 * message's first sequence number, then the line's index in it.
 */
export function orderOf(id: string): number {
  const [first, index] = id.split(':').slice(-2).map(Number);
  return (first ?? Number.NaN) * 1_000_000 + (index ?? Number.NaN);
}
