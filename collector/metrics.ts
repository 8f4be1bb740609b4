import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The collector's Prometheus metrics, on a registry of its own that the HTTP API serves at /metrics. */
export interface CollectorMetrics {
  readonly registry: Registry;
  readonly recordsStored: Counter;
  readonly duplicates: Counter;
  readonly deadLettered: Counter;
  readonly batches: Counter;
  readonly batchSize: Histogram;
  readonly commitSeconds: Histogram;
  readonly storeErrors: Counter;
  readonly retentionDeleted: Counter;
  readonly queueDepth: Gauge<'queue'>;
  readonly lagSeconds: Gauge;
  readonly brokerConnected: Gauge;
  readonly storeWritable: Gauge;
  readonly reconnects: Counter;
}

export function createMetrics(registry: Registry = new Registry()): CollectorMetrics {
  // Process RSS, heap and event-loop lag come with the defaults: the memory target is watched here.
  collectDefaultMetrics({ register: registry, prefix: 'warren_collector_' });
  const registers = [registry];
  return {
    registry,
    recordsStored: new Counter({
      name: 'warren_records_stored_total',
      help: 'Records committed to the store',
      registers,
    }),
    duplicates: new Counter({
      name: 'warren_records_duplicate_total',
      help: 'Records ignored because their id was already stored (redeliveries)',
      registers,
    }),
    deadLettered: new Counter({
      name: 'warren_records_dead_lettered_total',
      help: 'Records or messages sent to the dead-letter exchange with a reason',
      registers,
    }),
    batches: new Counter({ name: 'warren_batches_total', help: 'Batches committed and acked', registers }),
    batchSize: new Histogram({
      name: 'warren_batch_records',
      help: 'Records per committed batch',
      buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000, 10000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'warren_commit_seconds',
      help: 'Time to write and commit one batch',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    storeErrors: new Counter({
      name: 'warren_store_errors_total',
      help: 'Commits that failed (disk full, read-only); the batch is retried, never acked',
      registers,
    }),
    retentionDeleted: new Counter({
      name: 'warren_retention_deleted_total',
      help: 'Records deleted by retention rules',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'warren_queue_depth',
      help: 'Messages ready in a queue at the last poll',
      labelNames: ['queue'] as const,
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'warren_lag_seconds',
      help: 'At the last commit: now minus the newest record time committed',
      registers,
    }),
    brokerConnected: new Gauge({ name: 'warren_broker_connected', help: '1 while consuming', registers }),
    storeWritable: new Gauge({ name: 'warren_store_writable', help: '1 while commits succeed', registers }),
    reconnects: new Counter({
      name: 'warren_broker_reconnects_total',
      help: 'Broker sessions re-opened',
      registers,
    }),
  };
}

/** Records per second over a sliding window of whole seconds, for /api/stats. */
export class RateMeter {
  private readonly buckets = new Map<number, number>();

  constructor(
    private readonly now: () => number,
    private readonly windowSeconds = 5,
  ) {}

  add(count: number): void {
    const second = Math.floor(this.now() / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + count);
    for (const key of this.buckets.keys()) if (key <= second - this.windowSeconds) this.buckets.delete(key);
  }

  /** Over the last complete seconds of the window, so a half-finished second doesn't halve the rate. */
  rate(): number {
    const current = Math.floor(this.now() / 1000);
    let total = 0;
    for (const [second, count] of this.buckets) {
      if (second < current && second >= current - this.windowSeconds) total += count;
    }
    return total / this.windowSeconds;
  }
}
