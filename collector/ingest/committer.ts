import type { Message, Options } from 'amqplib';
import type { Logger } from 'pino';
import { backoffDelay, errorMessage, sleep, type StoredRecord } from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import { reportReadiness, type CollectorStatus } from '../status.js';
import type { IngestStore, WriteResult } from '../store/store.js';
import type { DeliveryBatch } from './batch.js';
import { messageDigest, type LedgerPlan, type RedeliveryLedger } from './redeliveries.js';
import { triageDelivery, type DeadLetter } from './triage.js';

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

const NOTHING_WRITTEN: WriteResult = { stored: 0, duplicates: 0, lastSeq: 0, newestTs: null };

export function createCommitter(deps: CommitterDeps): Committer {
  const { config, writer, metrics, status, logger, now } = deps;
  const stop = new AbortController();

  async function decode(batch: DeliveryBatch<BatchChannels, Message>): Promise<{
    records: StoredRecord[];
    deadLetters: DeadLetter[];
    plan: LedgerPlan;
    redelivered: number;
  }> {
    const arrival = new Date(now());
    const triaged = batch.deliveries.splice(0).map((message) => {
      const { records, deadLetters } = triageDelivery(message, config.queue, config.maxMessageBytes, arrival);
      const idless =
        typeof message.properties.messageId !== 'string' && records.some((record) => record.id === null);
      const digest = idless
        ? messageDigest(
            message.fields.routingKey,
            typeof message.properties.contentType === 'string' ? message.properties.contentType : undefined,
            message.content,
          )
        : null;
      return { records, deadLetters, ledger: { redelivered: message.fields.redelivered, digest } };
    });
    // Another collector on a shared store may have committed a redelivered one before it died.
    const unknown = deps.redeliveries.unknown(triaged.map((t) => t.ledger));
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
    // Taken out of the batch above: the raw bodies can go while the records are written.
    const plan = deps.redeliveries.plan(
      batch.owner,
      triaged.map((t) => t.ledger),
    );
    const records: StoredRecord[] = [];
    const deadLetters: DeadLetter[] = [];
    let redelivered = 0;
    triaged.forEach((t, index) => {
      // A skipped redelivery still sends its dead letters: they may not have reached the broker.
      for (const dead of t.deadLetters) deadLetters.push(dead);
      if (plan.keep[index] === false) {
        redelivered += t.records.length;
        return;
      }
      for (const record of t.records) records.push(record);
    });
    return { records, deadLetters, plan, redelivered };
  }

  /** null when the batch must stay unacked: its session was lost, or the store refused while closing. */
  async function write(
    records: StoredRecord[],
    plan: LedgerPlan,
    channels: BatchChannels,
  ): Promise<WriteResult | null> {
    if (records.length === 0 && !plan.writes) return NOTHING_WRITTEN;
    for (let attempt = 0; ; attempt++) {
      if (!channels.open) return null;
      const started = performance.now();
      try {
        const result = await writer.write(records, plan.writes ? plan.changes : undefined);
        metrics.commitSeconds.observe((performance.now() - started) / 1000);
        if (!status.storeWritable) {
          logger.info('the store accepts writes again; resuming');
          reportReadiness(status, metrics, 'storeWritable', true);
        }
        return result;
      } catch (err) {
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
      const { records, deadLetters, plan, redelivered } = await decode(batch);
      const seen = records.length + deadLetters.length + redelivered;
      const result = await write(records, plan, channels);
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
      reportStored({ ...result, duplicates: result.duplicates + redelivered }, records.length);
      return { acked: true, seen };
    },

    stopRetrying() {
      stop.abort();
    },
  };
}
