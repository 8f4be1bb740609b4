import type { ChannelModel, ConfirmChannel, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import {
  CONTENT_TYPE_NDJSON,
  connectRecovering,
  declareExchanges,
  describeConnectError,
  describeDeclareError,
  isWarrenError,
  errorMessage,
  type TopologyNames,
  type WarrenError,
} from '../protocol/index.js';
import type { Batch } from './batch.js';

/** The narrow face of a publisher that delivery logic needs (tests can fake it). */
export interface PublisherLike {
  readonly connected: boolean;
  /** Sends a batch; false when the socket buffer is full (wait for onDrain before sending more). */
  publish(batch: Batch, onConfirm: (ok: boolean) => void): boolean;
  /** Gives up the current channel (after a nack), so everything in flight is sent again. */
  abandon(): void;
}

export interface PublisherEvents {
  onConnect(): void;
  onDisconnect(reason: string): void;
  onDrain(): void;
}

export interface PublisherOptions {
  url: string;
  names: TopologyNames;
  /** Connection name shown by `rabbitmqctl list_connections`. */
  connectionName: string;
  appId: string;
  logger: Logger;
}

/** Delay before a new channel replaces one the broker closed on a live connection. */
const CHANNEL_REOPEN_MS = 500;

/**
 * Frames amqplib queues for the socket before publish() says wait (its default is 1,024, a whole
 * window). amqplib copies every body into a frame buffer; queued behind the window, those copies
 * outlived two young collections and only a full one freed them. At 1, a message is framed when
 * the socket has taken the one before, and its copy dies young (issue 15, fourteenth round).
 */
const CHANNEL_QUEUE_FRAMES = 1;

/**
 * A confirm channel on a recovering connection: amqplib re-opens the connection with back-off,
 * `setup` declares the exchanges and opens a fresh channel each time. Confirms of an old channel
 * are ignored (generation check): after a loss, delivery sends its unconfirmed batches again.
 */
export class Publisher implements PublisherLike {
  private connection: RecoveringChannelModel | undefined;
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private generation = 0;
  private closing = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private lastError = '';
  private everConnected = false;
  private warnedUnserved = false;
  /** Why the last connection attempt failed, until one succeeds. */
  lastFailure: WarrenError | undefined;

  constructor(
    private readonly options: PublisherOptions,
    private readonly events: PublisherEvents,
  ) {}

  get connected(): boolean {
    return this.channel !== undefined;
  }

  async start(): Promise<void> {
    const connection = await connectRecovering(this.options.url, {
      name: this.options.connectionName,
      waitForConnect: false,
      recovery: {
        setup: async (model: ChannelModel) => {
          this.model = model;
          await declareExchanges(model, this.options.names);
          await this.checkServed(model);
          await this.openChannel(model);
        },
      },
    });
    this.connection = connection;
    connection.on('error', (err: Error) => this.note(`connection error: ${err.message}`));
    connection.on('disconnect', (err: Error) => {
      this.model = undefined;
      this.lost(this.generation, `connection lost: ${err.message}`);
    });
    connection.on('connect-failed', (err: Error) => {
      this.model = undefined;
      this.events.onDisconnect(errorMessage(err));
      const described = describeDeclareError(err);
      const reason = isWarrenError(described) ? described : describeConnectError(err, this.options.url);
      this.lastFailure = reason;
      // Before the first connection the shipper reports it once: spooling, or failing if permanent.
      if (this.everConnected) this.note(reason.message);
      else this.options.logger.info(reason.message);
    });
    connection.on('blocked', (reason: string) => this.note(`broker blocked publishing: ${reason}`));
  }

  publish(batch: Batch, onConfirm: (ok: boolean) => void): boolean {
    const channel = this.channel;
    if (channel === undefined) return false;
    const generation = this.generation;
    return channel.publish(
      this.options.names.exchange,
      batch.key,
      batch.body,
      {
        persistent: true,
        contentType: CONTENT_TYPE_NDJSON,
        messageId: batch.messageId,
        timestamp: Math.floor(Date.now() / 1000),
        appId: this.options.appId,
      },
      (err: unknown) => {
        if (generation === this.generation) onConfirm(err === null || err === undefined);
      },
    );
  }

  abandon(): void {
    const channel = this.channel;
    this.lost(this.generation, 'the broker refused a batch (nack)');
    if (channel !== undefined) channel.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.reopenTimer !== undefined) clearTimeout(this.reopenTimer);
    const channel = this.channel;
    this.channel = undefined;
    this.generation++;
    if (channel !== undefined) await channel.close().catch(() => undefined);
    if (this.connection !== undefined) await this.connection.close().catch(() => undefined);
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel({ highWaterMark: CHANNEL_QUEUE_FRAMES });
    const generation = ++this.generation;
    channel.on('error', (err: Error) => this.note(`channel error: ${err.message}`));
    channel.on('close', () => {
      this.lost(generation, 'channel closed');
      this.scheduleReopen(model);
    });
    channel.on('drain', () => {
      if (generation === this.generation) this.events.onDrain();
    });
    this.channel = channel;
    this.lastError = '';
    this.lastFailure = undefined;
    // Coming back after an outage is news an operator wants without --verbose.
    if (this.everConnected)
      this.options.logger.warn({ connection: this.options.connectionName }, 'reconnected to RabbitMQ');
    else this.options.logger.info({ connection: this.options.connectionName }, 'connected to RabbitMQ');
    this.everConnected = true;
    this.events.onConnect();
  }

  /**
   * A collector declares `<exchange>.archive`; without it nothing consumes the exchange and every
   * record parks in `<exchange>.unrouted` (a typo'd --exchange). Checked passively on a scratch
   * channel, since a 404 closes the channel it happens on; said once per run.
   */
  private async checkServed(model: ChannelModel): Promise<void> {
    if (this.warnedUnserved) return;
    const { names } = this.options;
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(names.archive);
    } catch {
      this.warnedUnserved = true;
      this.options.logger.warn(
        `no collector serves the exchange '${names.exchange}' (the queue ${names.archive} does not exist): records park in ${names.unrouted} until one does; check --exchange`,
      );
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** The first report of a loss for this generation wins; later ones (channel then connection) are echoes. */
  private lost(generation: number, reason: string): void {
    if (generation !== this.generation || this.channel === undefined) return;
    this.channel = undefined;
    this.generation++;
    if (!this.closing) {
      this.note(reason);
      this.events.onDisconnect(reason);
    }
  }

  /** A channel closed on a live connection (e.g. after a nack) is replaced; a dead connection recovers by itself. */
  private scheduleReopen(model: ChannelModel): void {
    if (this.closing || this.reopenTimer !== undefined) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.closing || this.channel !== undefined || this.model !== model) return;
      this.openChannel(model).catch((err: unknown) =>
        this.note(`cannot reopen channel: ${errorMessage(err)}`),
      );
    }, CHANNEL_REOPEN_MS);
  }

  /** Logs a state change once, not once per retry. */
  private note(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.options.logger.warn(message);
  }
}
