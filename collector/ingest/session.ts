import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import {
  connectRecovering,
  declareArchiveQueue,
  describeConnectError,
  errorMessage,
} from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import { reportReadiness, type CollectorStatus } from '../status.js';

/**
 * One broker connection and its channels. Delivery tags belong to its channel, so what it delivered
 * is acked on it or never: when any of it fails, the whole session is replaced.
 */
export interface Session {
  /** The connection amqplib's recovery opened for this session; closing it starts a new session. */
  readonly connection: ChannelModel;
  readonly channel: Channel;
  readonly confirm: ConfirmChannel;
  consumerTag: string | null;
  /** False once lost or closing: none of its deliveries may be acked any more. */
  open: boolean;
}

export interface BrokerLinkOptions {
  readonly config: Pick<
    CollectorConfig,
    'amqpUrl' | 'connectionName' | 'names' | 'queue' | 'quorum' | 'bindings' | 'deliveryLimit'
  >;
  readonly metrics: CollectorMetrics;
  readonly status: CollectorStatus;
  readonly logger: Logger;
  /** The prefetch each subscription asks for. */
  prefetch(): number;
  /** A delivery of the current session. */
  onDelivery(session: Session, message: ConsumeMessage): void;
  /** The current session is gone: whatever it delivered and is not acked comes back from the broker. */
  onLost(session: Session): void;
}

/** The collector's link to the broker: one consuming session at a time, replaced whenever it fails. */
export interface BrokerLink {
  /** Connects, declares, consumes; rejects with a clear WarrenError when the broker or topology is wrong. */
  start(): Promise<void>;
  /** The consuming session; null while disconnected. */
  current(): Session | null;
  /** Gives up a session (a channel failed, or a batch must never be acked): a new one follows unless stopping. */
  replace(session: Session, why: Error): void;
  /** Re-subscribes with the current prefetch, which a consumer fixes when it subscribes. */
  resubscribe(session: Session): Promise<void>;
  /** A channel for queries beside the consumer (waits while disconnected). */
  openChannel(): Promise<Channel>;
  /** Stops deliveries and any further session; what already arrived can still be acked. */
  stopConsuming(): Promise<void>;
  /** Closes the session's channel, then the connection. */
  close(): Promise<void>;
}

/**
 * Reconnecting is amqplib's recovery, as for the agents and logtail: it re-opens the connection with
 * back-off and runs `setup` (re-declare, re-bind, re-consume) on every new one. A failure it does not
 * see by itself (a channel closed, the consumer cancelled, a batch that must stay unacked) closes the
 * session's connection, which it does see.
 */
export function createBrokerLink(options: BrokerLinkOptions): BrokerLink {
  const { config, metrics, status, logger } = options;
  let recovering: RecoveringChannelModel | null = null;
  let session: Session | null = null;
  let connectedOnce = false;
  let stopping = false;
  // Set when the first setup failed: start() reports it rather than a connection error.
  let setupFailure: Error | undefined;

  function lost(owner: Session, err: Error): void {
    if (!owner.open) return;
    owner.open = false;
    if (session === owner) {
      session = null;
      reportReadiness(status, metrics, 'brokerConnected', false);
      options.onLost(owner);
    }
    if (stopping) return;
    logger.warn({ err: err.message }, 'lost the broker session; reconnecting');
    owner.connection.close().catch(() => undefined);
  }

  async function subscribe(owner: Session): Promise<void> {
    const prefetch = options.prefetch();
    await owner.channel.prefetch(prefetch);
    const { consumerTag } = await owner.channel.consume(
      config.queue,
      (message) => {
        if (message === null) {
          // The broker cancelled us (queue deleted, or a quorum leader moved): re-open and re-declare.
          logger.warn(
            { queue: config.queue },
            'the broker cancelled the consumer; re-declaring the queue and resuming',
          );
          lost(owner, new Error('consumer cancelled by the broker'));
        } else if (owner.open && owner === session) {
          options.onDelivery(owner, message);
        }
      },
      { noAck: false },
    );
    owner.consumerTag = consumerTag;
  }

  /** Runs on every connection amqplib opens; a throw makes it close that connection and retry. */
  async function setup(connection: ChannelModel): Promise<void> {
    try {
      await declareArchiveQueue(connection, config.names, {
        queue: config.queue,
        quorum: config.quorum,
        bindings: config.bindings,
        deliveryLimit: config.deliveryLimit,
      });
      const channel = await connection.createChannel();
      const confirm = await connection.createConfirmChannel();
      const owner: Session = { connection, channel, confirm, consumerTag: null, open: true };
      for (const ch of [channel, confirm]) {
        ch.on('error', (err: Error) => logger.warn({ err: err.message }, 'broker channel error'));
        ch.on('close', () => lost(owner, new Error('channel closed')));
      }
      if (stopping) throw new Error('the collector is closing');
      session = owner;
      await subscribe(owner);
      // Lost while subscribing: failing here has amqplib retry, as it never saw this connection close.
      if (!owner.open) throw new Error('the session was lost while it was set up');
    } catch (err) {
      if (!connectedOnce) setupFailure = err instanceof Error ? err : new Error(errorMessage(err));
      throw err;
    }
    reportReadiness(status, metrics, 'brokerConnected', true);
    logger.info(
      { queue: config.queue, bindings: config.bindings, prefetch: options.prefetch() },
      'consuming',
    );
    if (connectedOnce) {
      metrics.reconnects.inc();
      logger.info({ queue: config.queue }, 'reconnected; consuming again');
    }
    connectedOnce = true;
  }

  function watch(connection: RecoveringChannelModel): void {
    connection.on('error', (err: Error) => logger.debug({ err: err.message }, 'broker connection error'));
    connection.on('blocked', (reason: string) =>
      logger.warn({ reason }, 'the broker blocked this connection'),
    );
    connection.on('disconnect', (err: Error) => {
      if (session !== null) lost(session, err);
    });
    connection.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => {
      logger.info({ attempt: info.attempt, delayMs: info.delay }, 'reconnecting to the broker');
    });
    connection.on('connect-failed', (err: Error) => {
      if (connectedOnce) logger.warn({ err: errorMessage(err) }, 'reconnect failed');
    });
  }

  return {
    async start() {
      const connection = await connectRecovering(config.amqpUrl, {
        name: config.connectionName,
        waitForConnect: false,
        // The first connection is not retried: a wrong broker or topology fails start() at once.
        recovery: { initialMaxRetries: 0, setup },
      });
      recovering = connection;
      watch(connection);
      try {
        await connection.waitForConnect();
      } catch (err) {
        await connection.close().catch(() => undefined);
        // A refused declaration is already a clear WarrenError; a failed connect is described here.
        if (setupFailure !== undefined) throw setupFailure;
        throw describeConnectError(err, config.amqpUrl);
      }
    },

    current: () => session,

    replace: lost,

    async resubscribe(owner) {
      try {
        if (owner.consumerTag !== null) await owner.channel.cancel(owner.consumerTag);
        owner.consumerTag = null;
        if (!owner.open || stopping) return;
        await subscribe(owner);
      } catch (err) {
        lost(owner, err instanceof Error ? err : new Error(errorMessage(err)));
      }
    },

    openChannel() {
      if (recovering === null) return Promise.reject(new Error('not connected'));
      return recovering.createChannel();
    },

    async stopConsuming() {
      stopping = true;
      const owner = session;
      // Stop deliveries first; what already arrived is committed and acked by the caller.
      if (owner?.open === true && owner.consumerTag !== null) {
        await owner.channel.cancel(owner.consumerTag).catch(() => undefined);
      }
    },

    async close() {
      stopping = true;
      const owner = session;
      session = null;
      if (owner !== null) {
        owner.open = false;
        // Close the channel first: its close-ok proves the broker has our acks, which a connection
        // close on channel 0 could overtake.
        await owner.channel.close().catch(() => undefined);
      }
      await recovering?.close().catch(() => undefined);
      reportReadiness(status, metrics, 'brokerConnected', false);
    },
  };
}
