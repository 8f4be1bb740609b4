import type { ConsumeMessage } from 'amqplib';
import { countRecords, errorMessage } from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import { reportReadiness } from '../status.js';
import { BatchAssembler } from './batch.js';
import { createCommitter, type CommitOutcome, type CommitterDeps } from './committer.js';
import { startDepthPolling } from './depth.js';
import { createBrokerLink, type Session } from './session.js';

export interface ConsumerDeps extends CommitterDeps {
  readonly config: CollectorConfig;
}

export interface Consumer {
  /** Connects, declares, consumes; rejects with a clear WarrenError when the broker or topology is wrong. */
  start(): Promise<void>;
  /** Stops consuming, commits and acks what is in hand, closes the connection. */
  close(): Promise<void>;
}

/**
 * The ingest loop: the broker link hands deliveries to the assembler, due batches go one at a time
 * to the committer, and what the committer learns resizes the prefetch.
 */
export function createConsumer(deps: ConsumerDeps): Consumer {
  const { config, metrics, status, logger } = deps;
  const batches = new BatchAssembler<Session, ConsumeMessage>(config, countRecords, () => performance.now());
  const committer = createCommitter(deps);
  const link = createBrokerLink({
    config,
    metrics,
    status,
    logger,
    prefetch: () => batches.prefetch,
    onDelivery(session, message) {
      if (batches.add(session, message)) kick();
      else scheduleLinger();
    },
    // Unacked deliveries of a dead session come back from the broker; storing them now could double.
    onLost: () => batches.clear(),
  });
  let closing = false;
  let draining = false;
  // Set when a batch could not be committed during shutdown: nothing after it may be acked.
  let halted = false;
  let committing: Promise<void> | null = null;
  let lingerTimer: NodeJS.Timeout | null = null;
  let depthPolling: { stop(): void } | null = null;

  function scheduleLinger(): void {
    const wait = batches.lingerLeft();
    if (lingerTimer !== null || wait === null) return;
    lingerTimer = setTimeout(() => {
      lingerTimer = null;
      kick();
    }, wait);
  }

  function kick(): void {
    if (committing !== null) return;
    committing = commitDue()
      .catch((err: unknown) =>
        logger.error({ err: errorMessage(err) }, 'batch loop failed; the batch stays unacked'),
      )
      .finally(() => {
        committing = null;
        if (batches.isDue(draining)) kick();
        else scheduleLinger();
      });
  }

  async function commitDue(): Promise<void> {
    while (batches.isDue(draining)) {
      const batch = batches.take();
      if (batch === null) return;
      const outcome: CommitOutcome = halted
        ? { acked: false, seen: 0, why: null }
        : await committer.commit(batch);
      if (!outcome.acked && outcome.why !== null) keepUnacked(batch.owner, outcome.why);
      await resizePrefetch(batch.owner, batch.messages, outcome.seen);
    }
  }

  /**
   * A batch that is not acked must never be covered by a later multiple-ack on the same channel:
   * the session is replaced (its deliveries come back), or while closing, acking stops altogether.
   */
  function keepUnacked(owner: Session, why: string): void {
    if (closing) halted = true;
    else link.replace(owner, new Error(why));
  }

  async function resizePrefetch(owner: Session, messages: number, seen: number): Promise<void> {
    const wanted = batches.learn(messages, seen);
    if (wanted === null) return;
    if (!owner.open || owner !== link.current() || owner.consumerTag === null || closing) return;
    logger.debug(
      { from: batches.prefetch, to: wanted, recordsPerMessage: batches.recordsPerMessageSeen },
      'resizing prefetch',
    );
    batches.prefetch = wanted;
    // Re-subscribing on the same channel keeps the unacked deliveries ours and the tags counting.
    await link.resubscribe(owner);
  }

  return {
    async start() {
      await link.start();
      reportReadiness(status, metrics, 'storeWritable', true);
      depthPolling = startDepthPolling({ ...deps, openChannel: () => link.openChannel() });
    },

    async close() {
      if (closing) return;
      closing = true;
      depthPolling?.stop();
      if (lingerTimer !== null) clearTimeout(lingerTimer);
      committer.stopRetrying();
      await link.stopConsuming();
      draining = true;
      // Commit and ack the batch in hand and whatever was prefetched behind it.
      for (;;) {
        if (committing === null && batches.isDue(draining)) kick();
        const running: Promise<void> | null = committing;
        if (running === null) break;
        await running;
      }
      await link.close();
    },
  };
}
