import type { Message, Options } from 'amqplib';
import type { Logger } from 'pino';
import { backoffDelay, errorMessage, sleep, type StoredRecord } from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import { reportReadiness, type CollectorStatus } from '../status.js';
import type { IngestStore, WriteResult } from '../store/store.js';
import type { DeliveryBatch } from './batch.js';
import { messageDigest, type LedgerPlan, type RedeliveryLedger } from './redeliveries.js';
import { triageDelivery, type DeadLetter, type TriagedDelivery } from './triage.js';

/** The channels a batch's session lends the committer (a broker session, or a test's fake). */
export interface BatchChannels {
  /** False once the session is lost: nothing of it may be acked any more. */
  readonly open: boolean;
  readonly channel: {
    ack(message: Message, allUpTo?: boolean): void;
    /** A round trip on the channel: its answer proves the broker has every ack sent before it. */
    checkQueue(queue: string): Promise<unknown>;
  };
  readonly confirm: {
    publish(exchange: string, routingKey: string, content: Buffer, options?: Options.Publish): boolean;
    waitForConfirms(): Promise<void>;
  };
}

/**
 * How a commit ended. `seen` counts the records and dead letters decoded (0 when the batch never got
 * that far): the prefetch sizing learns from it.
 */
export type CommitOutcome =
  | { readonly acked: true; readonly seen: number }
  | { readonly acked: false; readonly seen: number; readonly why: string | null };

export interface CommitterDeps {
  readonly config: Pick<CollectorConfig, 'queue' | 'maxMessageBytes' | 'names'>;
  readonly writer: Pick<IngestStore, 'write' | 'location' | 'ledgerRowsFor'>;
  /** Which redelivered id-less messages were already committed (redeliveries.ts). */
  readonly redeliveries: RedeliveryLedger;
  readonly metrics: CollectorMetrics;
  /** Kept current by the consumer; the HTTP API reads it. */
  readonly status: CollectorStatus;
  readonly logger: Logger;
  readonly now: () => number;
  /** After every committed and acked batch. */
  readonly onStored: (result: WriteResult) => void;
}

export interface Committer {
  /**
   * Decodes a batch, writes its records in one transaction (retrying while the store refuses),
   * dead-letters what cannot be stored, then acks the batch with one multiple-ack. When `acked` is
   * false with a `why`, the batch is unacked on a live channel: the caller must keep any later ack
   * from covering it.
   */
  commit(batch: DeliveryBatch<BatchChannels, Message>): Promise<CommitOutcome>;
  /** While closing: a refused write is no longer retried, it stays unacked for the next collector. */
  stopRetrying(): void;
}

/** One delivery of a batch; `triaged` is null until the store's transaction decodes it. */
interface BatchPart {
  readonly message: Message;
  readonly triaged: TriagedDelivery | null;
  readonly digest: string | null;
}

/**
 * A batch's records, decoded message by message as the store's transaction reads them: one
 * message's records are alive at a time instead of the whole batch's, which outlived the young
 * generation and were promoted, then collected by full GCs. A retried write decodes again; the
 * counts and dead letters are those of the latest pass.
 */
class DecodedBatch implements Iterable<StoredRecord> {
  /** Records the latest pass gave the store. */
  records = 0;
  /** Records of redelivered messages the ledger skipped (already committed). */
  redelivered = 0;
  deadLetters: DeadLetter[] = [];
  /** What decoding threw, if it did (not the store's failure). */
  failure: Error | null = null;
  readonly mayHaveRecords: boolean;

  constructor(
    private readonly parts: readonly BatchPart[],
    private readonly keep: readonly boolean[],
    private readonly decode: (message: Message) => TriagedDelivery,
  ) {
    this.mayHaveRecords = keep.some((kept) => kept);
  }

  *[Symbol.iterator](): Iterator<StoredRecord> {
    this.records = 0;
    this.redelivered = 0;
    this.deadLetters = [];
    for (const [index, part] of this.parts.entries()) {
      const triaged = part.triaged ?? this.decodeOrRemember(part.message);
      // A skipped redelivery still sends its dead letters: they may not have reached the broker.
      for (const dead of triaged.deadLetters) this.deadLetters.push(dead);
      if (this.keep[index] === false) {
        this.redelivered += triaged.records.length;
        continue;
      }
      for (const record of triaged.records) {
        this.records++;
        yield record;
      }
    }
  }

  /** A pass without a store: the dead letters and counts of a batch with nothing to write. */
  drain(): void {
    for (const record of this) void record;
  }

  private decodeOrRemember(message: Message): TriagedDelivery {
    try {
      return this.decode(message);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }
}

const NOTHING_WRITTEN: WriteResult = { stored: 0, duplicates: 0, lastSeq: 0, newestTs: null };

export function createCommitter(deps: CommitterDeps): Committer {
  const { config, writer, metrics, status, logger, now } = deps;
  const stop = new AbortController();

  async function decode(batch: DeliveryBatch<BatchChannels, Message>): Promise<{
    decoded: DecodedBatch;
    plan: LedgerPlan;
  }> {
    const arrival = new Date(now());
    const decodeOne = (message: Message): TriagedDelivery =>
      triageDelivery(message, config.queue, config.maxMessageBytes, arrival);
    const parts = batch.deliveries.splice(0).map((message): BatchPart => {
      // A message with a message_id is never id-less (its records get <message_id>:<n>), so it is
      // decoded only inside the store's transaction; others now, to know whether they need a digest.
      if (typeof message.properties.messageId === 'string') return { message, triaged: null, digest: null };
      const triaged = decodeOne(message);
      const digest = triaged.records.some((record) => record.id === null)
        ? messageDigest(
            message.fields.routingKey,
            typeof message.properties.contentType === 'string' ? message.properties.contentType : undefined,
            message.content,
          )
        : null;
      return { message, triaged, digest };
    });
    const ledger = parts.map((part) => ({
      redelivered: part.message.fields.redelivered,
      digest: part.digest,
    }));
    // Another collector on a shared store may have committed a redelivered one before it died.
    const unknown = deps.redeliveries.unknown(ledger);
    if (unknown.length > 0) {
      try {
        deps.redeliveries.adopt(await writer.ledgerRowsFor(unknown));
      } catch (err) {
        logger.warn(
          { err: errorMessage(err) },
          'could not look up redelivered digests; storing them (a double at worst)',
        );
      }
    }
    const plan = deps.redeliveries.plan(batch.owner, ledger);
    return { decoded: new DecodedBatch(parts, plan.keep, decodeOne), plan };
  }

  /** null when the batch must stay unacked: its session was lost, or the store refused while closing. */
  async function write(
    decoded: DecodedBatch,
    plan: LedgerPlan,
    channels: BatchChannels,
  ): Promise<WriteResult | null> {
    if (!decoded.mayHaveRecords && !plan.writes) {
      decoded.drain();
      return NOTHING_WRITTEN;
    }
    for (let attempt = 0; ; attempt++) {
      if (!channels.open) return null;
      const started = performance.now();
      try {
        const result = await writer.write(decoded, plan.writes ? plan.changes : undefined);
        metrics.commitSeconds.observe((performance.now() - started) / 1000);
        if (!status.storeWritable) {
          logger.info('the store accepts writes again; resuming');
          reportReadiness(status, metrics, 'storeWritable', true);
        }
        return result;
      } catch (err) {
        // Decoding is not the store's failure: retrying would fail the same way.
        if (decoded.failure !== null) throw decoded.failure;
        metrics.storeErrors.inc();
        if (status.storeWritable) {
          logger.error(
            { err: errorMessage(err), code: (err as { code?: unknown }).code, store: writer.location },
            'the store refused a batch (disk full, read-only, or the database unreachable?); consuming is paused, nothing is acked, retrying',
          );
        }
        reportReadiness(status, metrics, 'storeWritable', false);
        // While closing, leave it unacked: the broker redelivers it to the next collector.
        if (stop.signal.aborted) return null;
        await sleep(backoffDelay(attempt, { minMs: 500, maxMs: 10_000 }), stop.signal);
      }
    }
  }

  /** The originals are acked only once their dead letters are safely on the broker. */
  async function deadLetter(deadLetters: DeadLetter[], channels: BatchChannels): Promise<boolean> {
    if (deadLetters.length === 0) return true;
    try {
      for (const dead of deadLetters) {
        channels.confirm.publish(config.names.dead, dead.routingKey, dead.content, dead.options);
      }
      await channels.confirm.waitForConfirms();
    } catch (err) {
      logger.warn(
        { err: errorMessage(err) },
        'dead letters not confirmed; the batch stays unacked and will be redelivered (stored records are deduplicated)',
      );
      return false;
    }
    metrics.deadLettered.inc(deadLetters.length);
    status.deadLettered += deadLetters.length;
    logger.warn(
      { count: deadLetters.length, reason: deadLetters[0]?.reason, exchange: config.names.dead },
      'records that cannot be stored were dead-lettered',
    );
    return true;
  }

  function reportStored(result: WriteResult, records: number): void {
    metrics.batches.inc();
    metrics.batchSize.observe(records);
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

  return {
    async commit(batch) {
      const channels = batch.owner;
      if (!channels.open) return { acked: false, seen: 0, why: null };
      const { decoded, plan } = await decode(batch);
      const result = await write(decoded, plan, channels);
      const { deadLetters, records, redelivered } = decoded;
      const seen = records + deadLetters.length + redelivered;
      if (result === null) return { acked: false, seen, why: 'batch not committed' };
      const settle = plan.committed();
      if (!(await deadLetter(deadLetters, channels))) {
        return { acked: false, seen, why: 'dead letters not confirmed' };
      }
      if (!channels.open || batch.last === null) return { acked: false, seen, why: null };
      try {
        // ack after commit: a crash between the two redelivers; record ids (the store's UNIQUE id)
        // or, for id-less messages, the redelivery ledger keep that from doubling.
        channels.channel.ack(batch.last, true);
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'ack failed; the batch will be redelivered and deduplicated');
        return { acked: false, seen, why: 'ack failed' };
      }
      if (settle !== null) {
        // Not awaited: the next batch need not wait for the broker to prove it has this ack.
        channels.channel.checkQueue(config.queue).then(
          () => deps.redeliveries.settled(settle),
          () => undefined,
        );
      }
      reportStored({ ...result, duplicates: result.duplicates + redelivered }, records);
      return { acked: true, seen };
    },

    stopRetrying() {
      stop.abort();
    },
  };
}
