import type { Channel, ChannelModel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import {
  ErrorCodes,
  WarrenError,
  connectRecovering,
  countRecords,
  declareExchanges,
  declareTailQueue,
  describeConnectError,
  describeDeclareError,
  decodeDelivery,
  errorMessage,
  isWarrenError,
  topologyNames,
  type StoredRecord,
} from '../protocol/index.js';

export interface LiveOptions {
  amqpUrl: string;
  exchange: string;
  /** Broker binding keys, already expanded from the patterns. */
  bindings: readonly string[];
  /** Messages the tail queue keeps for a slow terminal before the oldest are dropped (and counted). */
  maxLength: number;
  /** Bytes the tail queue keeps (agents' batches vary in size, so messages alone bound nothing). */
  maxLengthBytes: number;
  /** Unacknowledged messages in flight: bounds what the process holds when its output is slow. */
  prefetch: number;
  /** Shown by `rabbitmqctl list_connections` (and used by tests to close this very connection). */
  connectionName: string;
  /** Reconnect delays (ms); defaults suit a terminal: quick first retry, at most 5 s apart. */
  recovery?: { initialDelay?: number; maxDelay?: number };
}

export type LiveEvent =
  | { type: 'connected'; reconnect: boolean }
  | { type: 'disconnected'; reason: string; at: number }
  | { type: 'retrying'; attempt: number; delayMs: number; reason: string };

export interface LiveHandlers {
  /** Decoded records of one message; the message is acknowledged when the returned promise settles. */
  records(records: StoredRecord[]): void | Promise<void>;
  /** Records the capped queue dropped because this tail could not keep up. */
  dropped(count: number): void;
  /** Lines of foreign messages that could not be read as records (shown, not hidden). */
  rejected(count: number, reason: string): void;
  event(event: LiveEvent): void;
}

export interface LiveTail {
  /** Connects, declares and binds; resolves once the queue is consuming (records may flow at once). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The live stream: its own exclusive, auto-delete, length-capped queue, consumed straight from the
 * broker with manual acks (so a slow output makes the broker hold and, at the cap, drop), plus a
 * second tiny queue that receives what the cap dropped, so the drops are counted, never silent.
 * amqplib's built-in recovery re-opens the connection; `setup` re-declares and re-binds each time.
 */
export function createLiveTail(options: LiveOptions, handlers: LiveHandlers): LiveTail {
  const names = topologyNames(options.exchange);
  let connection: RecoveringChannelModel | undefined;
  let setupError: unknown;
  let connectedOnce = false;
  let closed = false;

  async function setup(model: ChannelModel): Promise<void> {
    try {
      await declareExchanges(model, names);
      const channel = await model.createChannel();
      channel.on('error', () => undefined); // the connection's close event drives recovery
      await channel.prefetch(options.prefetch);
      // The dropped-counter queue; the default exchange ('') routes by queue name.
      const { queue: dropQueue } = await channel.assertQueue('', {
        exclusive: true,
        autoDelete: true,
        durable: false,
        arguments: { 'x-max-length': 100_000, 'x-overflow': 'drop-head' },
      });
      const queue = await declareTailQueue(channel, names, {
        bindings: options.bindings,
        maxLength: options.maxLength,
        maxLengthBytes: options.maxLengthBytes,
        deadLetterExchange: '',
        deadLetterRoutingKey: dropQueue,
      });
      await channel.consume(
        dropQueue,
        (message) => {
          if (message !== null) handlers.dropped(countRecords(message));
        },
        { noAck: true },
      );
      await consumeTail(channel, queue);
      const reconnect = connectedOnce;
      connectedOnce = true;
      handlers.event({ type: 'connected', reconnect });
    } catch (err) {
      setupError = describeDeclareError(err);
      throw err;
    }
  }

  async function consumeTail(channel: Channel, queue: string): Promise<void> {
    // Acks go out in order, many at once: the output settles records in arrival order.
    let chain: Promise<void> = Promise.resolve();
    let ackUpTo = 0;
    let ackScheduled = false;
    let channelOpen = true;
    channel.on('close', () => {
      channelOpen = false;
    });
    const flushAck = (): void => {
      ackScheduled = false;
      if (!channelOpen || ackUpTo === 0) return;
      try {
        channel.ack({ fields: { deliveryTag: ackUpTo } } as ConsumeMessage, true);
      } catch {
        // the channel went away; its unacked messages die with the exclusive queue
      }
      ackUpTo = 0;
    };
    const settle = (tag: number): void => {
      ackUpTo = tag;
      if (!ackScheduled) {
        ackScheduled = true;
        setImmediate(flushAck);
      }
    };
    await channel.consume(
      queue,
      (message) => {
        if (message === null) return;
        const { records, rejected } = decodeDelivery(message);
        if (rejected.length > 0) handlers.rejected(rejected.length, rejected[0]?.reason ?? 'unreadable');
        const tag = message.fields.deliveryTag;
        chain = chain.then(async () => {
          if (records.length > 0) await handlers.records(records);
          settle(tag);
        });
      },
      { noAck: false },
    );
  }

  return {
    async start() {
      connection = await connectRecovering(options.amqpUrl, {
        name: options.connectionName,
        waitForConnect: false,
        recovery: {
          initialDelay: options.recovery?.initialDelay ?? 250,
          maxDelay: options.recovery?.maxDelay ?? 5_000,
          // A tail that cannot connect at start says so at once; once it has, it keeps trying.
          initialMaxRetries: 1,
          setup,
        },
      });
      connection.on('error', () => undefined);
      connection.on('disconnect', (err: Error) => {
        if (!closed) handlers.event({ type: 'disconnected', reason: errorMessage(err), at: Date.now() });
      });
      connection.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) => {
        if (connectedOnce && !closed) {
          handlers.event({
            type: 'retrying',
            attempt: info.attempt,
            delayMs: info.delay,
            reason: errorMessage(info.error),
          });
        }
      });
      try {
        await connection.waitForConnect();
      } catch (err) {
        await connection.close().catch(() => undefined);
        if (setupError === undefined) throw describeConnectError(err, options.amqpUrl);
        if (isWarrenError(setupError)) throw setupError;
        throw new WarrenError(
          ErrorCodes.TOPOLOGY_CLASH,
          `cannot set up the tail queue: ${errorMessage(setupError)}`,
          {
            cause: setupError,
            hint: 'check the exchange name (--exchange) and the broker user permissions',
          },
        );
      }
    },
    async close() {
      closed = true;
      await connection?.close().catch(() => undefined);
    },
  };
}
