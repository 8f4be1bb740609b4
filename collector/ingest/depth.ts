import type { Channel } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStatus } from '../status.js';

type DepthField = 'queueDepth' | 'deadLetterDepth' | 'unroutedDepth';

/** The narrow channel a poll needs (amqplib's Channel, or a test's fake). */
export type DepthChannel = Pick<Channel, 'checkQueue' | 'on'>;

/** At most one growth warning per queue this often: a steady trickle must not flood the log. */
export const GROWTH_WARNING_EVERY_MS = 5 * 60_000;

/**
 * Watches a queue that only a person empties (`.unrouted`, `.dead`): warns when it holds messages
 * and has grown since the last warning, at most once per `everyMs`. Pure: the caller gives the clock.
 */
export class GrowthWatch {
  private warnedAt = -Infinity;
  private warnedDepth = 0;

  constructor(private readonly everyMs: number = GROWTH_WARNING_EVERY_MS) {}

  /** The growth to warn about now, or null. */
  observe(depth: number, now: number): { depth: number; grown: number } | null {
    if (depth < this.warnedDepth) this.warnedDepth = depth; // someone replayed or purged it
    if (depth === 0 || depth === this.warnedDepth || now - this.warnedAt < this.everyMs) return null;
    const grown = depth - this.warnedDepth;
    this.warnedAt = now;
    this.warnedDepth = depth;
    return { depth, grown };
  }
}

/** What a growing queue means, and what to do, for the log line. */
const GROWTH_ADVICE: Record<'deadLetterDepth' | 'unroutedDepth', string> = {
  deadLetterDepth:
    'records the collector could not store are kept there with the reason in x-warren-error; read them (rabbitmqctl list_queues, or a consumer on the queue), fix the publisher, then replay or purge them',
  unroutedDepth:
    "records whose routing key no --bind pattern matches are kept there; widen --bind (or fix the publisher's keys), then replay or purge them",
};

export interface DepthPollerDeps {
  readonly config: Pick<CollectorConfig, 'queue' | 'names' | 'pollMs'>;
  readonly metrics: Pick<CollectorMetrics, 'queueDepth'>;
  readonly status: CollectorStatus;
  readonly logger: Logger;
  /** The clock, for rate-limiting growth warnings. */
  readonly now: () => number;
  /** A channel beside the consumer; may wait while the broker is away. */
  openChannel(): Promise<DepthChannel>;
}

/**
 * Polls the ready counts of the archive, dead-letter and unrouted queues every `pollMs` for the
 * status and the metrics, on a channel of its own: a failed check closes only that channel.
 */
export function startDepthPolling(deps: DepthPollerDeps): { stop(): void } {
  const { config, metrics, status, logger } = deps;
  const depths: [string, DepthField][] = [
    [config.queue, 'queueDepth'],
    [config.names.dead, 'deadLetterDepth'],
    [config.names.unrouted, 'unroutedDepth'],
  ];
  const watches = new Map<DepthField, GrowthWatch>([
    ['deadLetterDepth', new GrowthWatch()],
    ['unroutedDepth', new GrowthWatch()],
  ]);
  let side: DepthChannel | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function channel(): Promise<DepthChannel> {
    if (side !== null) return side;
    const opened = await deps.openChannel();
    // A failed check closes only this channel; the consumer is unaffected.
    opened.on('error', () => undefined);
    opened.on('close', () => {
      if (side === opened) side = null;
    });
    side = opened;
    return opened;
  }

  async function poll(): Promise<void> {
    for (const [queue, field] of depths) {
      try {
        const { messageCount } = await (await channel()).checkQueue(queue);
        status[field] = messageCount;
        metrics.queueDepth.set({ queue }, messageCount);
        const growth = watches.get(field)?.observe(messageCount, deps.now());
        if (growth != null && field !== 'queueDepth') {
          logger.warn(
            { queue, messages: growth.depth, grown: growth.grown },
            `${queue} is growing: ${GROWTH_ADVICE[field]}`,
          );
        }
      } catch (err) {
        logger.debug({ queue, err: errorMessage(err) }, 'queue depth poll failed');
      }
    }
  }

  function tick(): void {
    poll()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, config.pollMs);
      });
  }
  tick();

  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
