import type { Channel } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStatus } from '../status.js';

type DepthField = 'queueDepth' | 'deadLetterDepth' | 'unroutedDepth';

/** The narrow channel a poll needs (amqplib's Channel, or a test's fake). */
export type DepthChannel = Pick<Channel, 'checkQueue' | 'on'>;

export interface DepthPollerDeps {
  readonly config: Pick<CollectorConfig, 'queue' | 'names' | 'pollMs'>;
  readonly metrics: Pick<CollectorMetrics, 'queueDepth'>;
  readonly status: CollectorStatus;
  readonly logger: Logger;
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
