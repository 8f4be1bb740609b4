import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import {
  backoffDelay,
  connectBroker,
  declareArchiveQueue,
  errorMessage,
  sleep,
  type StoredRecord,
} from '../protocol/index.js';
import type { CollectorConfig } from './config.js';
import { decodeDelivery, estimateRecords, type DeadLetter } from './decode.js';
import type { CollectorMetrics } from './metrics.js';
import type { CollectorStatus } from './status.js';
import type { BatchWriter, WriteResult } from './store/writer.js';

export interface ConsumerDeps {
  readonly config: CollectorConfig;
  readonly writer: BatchWriter;
  readonly metrics: CollectorMetrics;
  /** Kept current by the consumer; the HTTP API reads it. */
  readonly status: CollectorStatus;
  readonly logger: Logger;
  readonly now: () => number;
  /** After every committed and acked batch. */
  readonly onStored: (result: WriteResult) => void;
}

export interface Consumer {
  /** Connects, declares, consumes; rejects with a clear WarrenError when the broker or topology is wrong. */
  start(): Promise<void>;
  /** Stops consuming, commits and acks what is in hand, closes the connection. */
  close(): Promise<void>;
}

/** One connection and its channels; when any of it fails the whole session is replaced. */
interface Session {
  readonly id: number;
  readonly connection: ChannelModel;
  readonly channel: Channel;
  readonly confirm: ConfirmChannel;
  side: Channel | null;
  consumerTag: string | null;
  open: boolean;
}

/**
 * The unit of work: deliveries of one session, in delivery order. They are decoded only when the
 * batch is committed, in the same tick: records that never outlive a young-generation GC keep the
 * heap (and RSS) small.
 */
interface Batch {
  readonly session: Session;
  last: ConsumeMessage | null;
  messages: number;
  readonly pending: ConsumeMessage[];
  /** Records the pending deliveries hold, counted without decoding (NDJSON lines). */
  estimate: number;
  readonly records: StoredRecord[];
  readonly deadLetters: DeadLetter[];
  /** performance.now() of its first delivery: linger is a duration, not a wall-clock time. */
  firstAt: number;
}

/** Prefetch before the first batch shows how many records a message carries. */
const INITIAL_PREFETCH = 100;

/** About two batches in flight: one filling while the other commits. */
export function prefetchFor(
  recordsPerMessage: number,
  config: Pick<CollectorConfig, 'batchRecords' | 'batchMessages' | 'prefetch'>,
): number {
  const perBatch = Math.min(
    config.batchMessages,
    Math.ceil(config.batchRecords / Math.max(1, recordsPerMessage)),
  );
  return Math.max(1, Math.min(config.prefetch, 2 * perBatch));
}

export function createConsumer(deps: ConsumerDeps): Consumer {
  const { config, writer, metrics, status, logger, now } = deps;
  const abort = new AbortController();
  let session: Session | null = null;
  let sessionIds = 0;
  let closing = false;
  let draining = false;
  // Set when a batch could not be committed during shutdown: nothing after it may be acked.
  let halted = false;
  let reconnecting: Promise<void> | null = null;
  let current: Batch | null = null;
  // Deliveries that arrived while the current batch was full: kept raw (compact) until their turn.
  const backlog: ConsumeMessage[] = [];
  let pumping: Promise<void> | null = null;
  let lingerTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  // The broker counts prefetch in messages, but memory is spent in records: start small, then size
  // it to about two batches of the records per message actually seen (500-record NDJSON needs ~20).
  let prefetch = Math.min(config.prefetch, INITIAL_PREFETCH);
  let recordsPerMessage = 1;

  function setConnected(connected: boolean): void {
    status.brokerConnected = connected;
    metrics.brokerConnected.set(connected ? 1 : 0);
  }

  function newBatch(owner: Session): Batch {
    return {
      session: owner,
      last: null,
      messages: 0,
      pending: [],
      estimate: 0,
      records: [],
      deadLetters: [],
      firstAt: performance.now(),
    };
  }

  function isFull(batch: Batch): boolean {
    return batch.estimate >= config.batchRecords || batch.messages >= config.batchMessages;
  }

  function addToBatch(batch: Batch, message: ConsumeMessage): void {
    if (batch.messages === 0) batch.firstAt = performance.now();
    batch.pending.push(message);
    batch.estimate += estimateRecords(message);
    batch.messages++;
    batch.last = message;
  }

  function decodeBatch(batch: Batch): void {
    const arrival = new Date(now());
    for (const message of batch.pending) {
      const decoded = decodeDelivery(message, config.queue, config.maxMessageBytes, arrival);
      for (const record of decoded.records) batch.records.push(record);
      for (const dead of decoded.deadLetters) batch.deadLetters.push(dead);
    }
    batch.pending.length = 0;
  }

  /** Moves backlog into the current batch, oldest first, until it is full. */
  function refill(owner: Session): void {
    if (backlog.length === 0) return;
    if (current === null) current = newBatch(owner);
    while (backlog.length > 0 && !isFull(current)) {
      const message = backlog.shift();
      if (message !== undefined) addToBatch(current, message);
    }
  }

  function onMessage(owner: Session, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted, or a quorum leader moved): re-open and re-declare.
      logger.warn(
        { queue: config.queue },
        'the broker cancelled the consumer; re-declaring the queue and resuming',
      );
      lost(owner, new Error('consumer cancelled by the broker'));
      return;
    }
    if (!owner.open || owner !== session) return;
    // A batch left from a lost session is never acked here: its deliveries come back from the broker.
    if (current === null || current.session !== owner) current = newBatch(owner);
    if (backlog.length > 0 || isFull(current)) backlog.push(message);
    else addToBatch(current, message);
    if (isFull(current) || current.messages >= prefetch) kick();
    else scheduleLinger();
  }

  function ready(): boolean {
    if (current === null || current.messages === 0) return false;
    // Holding every prefetched message, nothing more comes until we ack: lingering would only idle.
    if (isFull(current) || current.messages >= prefetch || draining) return true;
    return performance.now() - current.firstAt >= config.lingerMs;
  }

  function scheduleLinger(): void {
    if (lingerTimer !== null || current === null || current.messages === 0) return;
    const wait = Math.max(0, current.firstAt + config.lingerMs - performance.now());
    lingerTimer = setTimeout(() => {
      lingerTimer = null;
      kick();
    }, wait);
  }

  function kick(): void {
    if (pumping !== null) return;
    pumping = pump()
      .catch((err: unknown) =>
        logger.error({ err: errorMessage(err) }, 'batch loop failed; the batch stays unacked'),
      )
      .finally(() => {
        pumping = null;
        if (ready()) kick();
        else scheduleLinger();
      });
  }

  async function pump(): Promise<void> {
    while (ready() && current !== null) {
      const batch: Batch = current;
      current = null;
      refill(batch.session);
      await flush(batch);
      await adaptPrefetch(batch);
    }
  }

  /**
   * A consumer's prefetch is fixed when it subscribes, so a change re-subscribes on the same channel:
   * unacked deliveries stay ours and delivery tags keep counting, so multiple-acks stay exact.
   */
  async function adaptPrefetch(batch: Batch): Promise<void> {
    const seen = batch.records.length + batch.deadLetters.length;
    if (batch.messages === 0) return;
    recordsPerMessage = 0.5 * recordsPerMessage + 0.5 * (seen / batch.messages);
    const wanted = prefetchFor(recordsPerMessage, config);
    if (wanted <= prefetch * 2 && wanted * 2 >= prefetch) return;
    const owner = batch.session;
    if (!owner.open || owner !== session || owner.consumerTag === null || closing) return;
    logger.debug({ from: prefetch, to: wanted, recordsPerMessage }, 'resizing prefetch');
    prefetch = wanted;
    try {
      await owner.channel.cancel(owner.consumerTag);
      owner.consumerTag = null;
      if (!owner.open || closing) return;
      await subscribe(owner);
    } catch (err) {
      lost(owner, err instanceof Error ? err : new Error(errorMessage(err)));
    }
  }

  async function subscribe(owner: Session): Promise<void> {
    await owner.channel.prefetch(prefetch);
    const { consumerTag } = await owner.channel.consume(
      config.queue,
      (message) => onMessage(owner, message),
      {
        noAck: false,
      },
    );
    owner.consumerTag = consumerTag;
  }

  function markWritable(writable: boolean): void {
    status.storeWritable = writable;
    metrics.storeWritable.set(writable ? 1 : 0);
  }

  async function commit(batch: Batch): Promise<WriteResult | null> {
    const empty: WriteResult = { stored: 0, duplicates: 0, lastSeq: 0, newestTs: null };
    if (batch.records.length === 0) return empty;
    for (let attempt = 0; ; attempt++) {
      if (!batch.session.open) return null;
      const started = performance.now();
      try {
        const result = writer.write(batch.records);
        metrics.commitSeconds.observe((performance.now() - started) / 1000);
        if (!status.storeWritable) {
          logger.info('the store accepts writes again; resuming');
          markWritable(true);
        }
        return result;
      } catch (err) {
        metrics.storeErrors.inc();
        if (status.storeWritable) {
          logger.error(
            { err: errorMessage(err), code: (err as { code?: unknown }).code, db: config.dbPath },
            'the store refused a batch (disk full or read-only?); consuming is paused, nothing is acked, retrying',
          );
        }
        markWritable(false);
        // While closing, leave it unacked: the broker redelivers it to the next collector.
        if (closing) return null;
        await sleep(backoffDelay(attempt, { minMs: 500, maxMs: 10_000 }), abort.signal);
      }
    }
  }

  /**
   * A batch that is not acked must never be covered by a later multiple-ack on the same channel:
   * the session is dropped (its deliveries come back), or while closing, acking stops altogether.
   */
  function abandon(owner: Session, why: string): void {
    if (closing) {
      halted = true;
      return;
    }
    lost(owner, new Error(why));
  }

  async function flush(batch: Batch): Promise<void> {
    const owner = batch.session;
    if (halted || !owner.open) return;
    decodeBatch(batch);
    const result = await commit(batch);
    if (result === null) {
      abandon(owner, 'batch not committed');
      return;
    }
    if (batch.deadLetters.length > 0) {
      try {
        for (const dead of batch.deadLetters) {
          owner.confirm.publish(config.names.dead, dead.routingKey, dead.content, dead.options);
        }
        // The original is acked only once its dead letter is safely on the broker.
        await owner.confirm.waitForConfirms();
      } catch (err) {
        logger.warn(
          { err: errorMessage(err) },
          'dead letters not confirmed; the batch stays unacked and will be redelivered (stored records are deduplicated)',
        );
        abandon(owner, 'dead letters not confirmed');
        return;
      }
      metrics.deadLettered.inc(batch.deadLetters.length);
      status.deadLettered += batch.deadLetters.length;
      logger.warn(
        {
          count: batch.deadLetters.length,
          reason: batch.deadLetters[0]?.reason,
          exchange: config.names.dead,
        },
        'records that cannot be stored were dead-lettered',
      );
    }
    if (!owner.open || batch.last === null) return;
    try {
      // ack after commit: a crash between the two redelivers, and the UNIQUE id makes that harmless.
      owner.channel.ack(batch.last, true);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'ack failed; the batch will be redelivered and deduplicated');
      abandon(owner, 'ack failed');
      return;
    }
    metrics.batches.inc();
    metrics.batchSize.observe(batch.records.length);
    metrics.recordsStored.inc(result.stored);
    metrics.duplicates.inc(result.duplicates);
    status.stored += result.stored;
    status.duplicates += result.duplicates;
    if (result.newestTs !== null) metrics.lagSeconds.set(Math.max(0, now() - result.newestTs) / 1000);
    if (result.duplicates > 0)
      logger.info({ duplicates: result.duplicates }, 'ignored records already stored');
    try {
      deps.onStored(result);
    } catch (err) {
      // A listener's failure (the API's stream) must not stop the batch loop; the batch is acked.
      logger.warn({ err: errorMessage(err) }, "a 'stored' listener failed");
    }
  }

  function lost(owner: Session, err: Error): void {
    if (!owner.open) return;
    owner.open = false;
    if (session === owner) {
      session = null;
      setConnected(false);
      // Unacked deliveries of a dead session come back from the broker; storing them now could double.
      current = null;
      backlog.length = 0;
    }
    owner.connection.close().catch(() => undefined);
    if (closing) return;
    logger.warn({ err: err.message }, 'lost the broker session; reconnecting');
    reconnect();
  }

  function reconnect(): void {
    if (reconnecting !== null || closing) return;
    reconnecting = (async () => {
      for (let attempt = 0; !closing; attempt++) {
        const delay = backoffDelay(attempt, { minMs: 200, maxMs: 5_000 });
        logger.info({ attempt: attempt + 1, delayMs: delay }, 'reconnecting to the broker');
        await sleep(delay, abort.signal);
        if (closing) return;
        try {
          await openSession();
          metrics.reconnects.inc();
          logger.info({ queue: config.queue }, 'reconnected; consuming again');
          return;
        } catch (err) {
          logger.warn({ err: errorMessage(err) }, 'reconnect failed');
        }
      }
    })().finally(() => {
      reconnecting = null;
    });
  }

  async function openSession(): Promise<void> {
    const connection = await connectBroker(config.amqpUrl, { name: config.connectionName });
    connection.on('error', (err: Error) => logger.debug({ err: err.message }, 'broker connection error'));
    connection.on('blocked', (reason: string) =>
      logger.warn({ reason }, 'the broker blocked this connection'),
    );
    try {
      await declareArchiveQueue(connection, config.names, {
        queue: config.queue,
        quorum: config.quorum,
        bindings: config.bindings,
        deliveryLimit: config.deliveryLimit,
      });
      const channel = await connection.createChannel();
      const confirm = await connection.createConfirmChannel();
      const owner: Session = {
        id: ++sessionIds,
        connection,
        channel,
        confirm,
        side: null,
        consumerTag: null,
        open: true,
      };
      connection.on('close', (err?: Error) => lost(owner, err ?? new Error('connection closed')));
      for (const ch of [channel, confirm]) {
        ch.on('error', (err: Error) => logger.warn({ err: err.message }, 'broker channel error'));
        ch.on('close', () => lost(owner, new Error('channel closed')));
      }
      session = owner;
      await subscribe(owner);
      setConnected(true);
      logger.info({ queue: config.queue, bindings: config.bindings, prefetch }, 'consuming');
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  async function sideChannel(owner: Session): Promise<Channel> {
    if (owner.side !== null) return owner.side;
    const side = await owner.connection.createChannel();
    // A failed check closes only this channel; the consumer is unaffected.
    side.on('error', () => undefined);
    side.on('close', () => {
      if (owner.side === side) owner.side = null;
    });
    owner.side = side;
    return side;
  }

  async function poll(): Promise<void> {
    const owner = session;
    if (owner === null || !owner.open) return;
    const depths: [string, 'queueDepth' | 'deadLetterDepth' | 'unroutedDepth'][] = [
      [config.queue, 'queueDepth'],
      [config.names.dead, 'deadLetterDepth'],
      [config.names.unrouted, 'unroutedDepth'],
    ];
    for (const [queue, field] of depths) {
      try {
        const side = await sideChannel(owner);
        const { messageCount } = await side.checkQueue(queue);
        status[field] = messageCount;
        metrics.queueDepth.set({ queue }, messageCount);
      } catch (err) {
        logger.debug({ queue, err: errorMessage(err) }, 'queue depth poll failed');
      }
    }
  }

  function startPolling(): void {
    const tick = (): void => {
      poll()
        .catch(() => undefined)
        .finally(() => {
          if (!closing) pollTimer = setTimeout(tick, config.pollMs);
        });
    };
    tick();
  }

  return {
    async start() {
      await openSession();
      markWritable(true);
      startPolling();
    },

    async close() {
      if (closing) return;
      closing = true;
      if (pollTimer !== null) clearTimeout(pollTimer);
      if (lingerTimer !== null) clearTimeout(lingerTimer);
      abort.abort();
      const owner = session;
      if (owner?.open === true && owner.consumerTag !== null) {
        // Stop deliveries first; what already arrived is committed and acked below.
        await owner.channel.cancel(owner.consumerTag).catch(() => undefined);
      }
      draining = true;
      // Commit and ack the batch in hand and whatever was prefetched behind it.
      for (;;) {
        if (pumping === null && ready()) kick();
        const running: Promise<void> | null = pumping;
        if (running === null) break;
        await running;
      }
      if (reconnecting !== null) await reconnecting;
      if (owner !== null) {
        owner.open = false;
        // Close the channel first: its close-ok proves the broker has our acks, which a connection
        // close on channel 0 could overtake.
        await owner.channel.close().catch(() => undefined);
        await owner.connection.close().catch(() => undefined);
      }
      session = null;
      setConnected(false);
    },
  };
}
