import type { CollectorMetrics } from './metrics.js';

/**
 * What the running collector tells its HTTP API (readyz, stats, metrics). The consumer owns the
 * numbers; the API only reads them, so neither reaches into the other's internals.
 */
export interface CollectorStatus {
  /** A channel to the broker is open and consuming. */
  brokerConnected: boolean;
  /** The last commit succeeded (false while the disk is full or read-only). */
  storeWritable: boolean;
  /** The archive queue consumed (e.g. `logs.archive`). */
  queue: string;
  /** Messages ready in the archive queue at the last poll; null before the first. */
  queueDepth: number | null;
  /** Messages waiting in `<exchange>.dead` at the last poll; null before the first. */
  deadLetterDepth: number | null;
  /** Messages waiting in `<exchange>.unrouted` at the last poll; null before the first. */
  unroutedDepth: number | null;
  /** Records committed per second over the last few seconds. */
  ingestRate: number;
  /** Since start: records committed, duplicates ignored, records dead-lettered by this collector. */
  stored: number;
  duplicates: number;
  deadLettered: number;
  /** The SQLite file, for the API's own read-only connection. */
  dbPath: string;
}

/** What /readyz is made of: a status field and a gauge of the same name, kept in step. */
export type ReadinessFact = 'brokerConnected' | 'storeWritable';

export function reportReadiness(
  status: CollectorStatus,
  metrics: Pick<CollectorMetrics, ReadinessFact>,
  fact: ReadinessFact,
  value: boolean,
): void {
  status[fact] = value;
  metrics[fact].set(value ? 1 : 0);
}
