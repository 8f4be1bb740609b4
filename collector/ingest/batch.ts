import type { CollectorConfig } from '../config.js';

/** The batch limits, the linger and the prefetch ceiling an assembler sizes batches by. */
export type BatchLimits = Pick<CollectorConfig, 'batchRecords' | 'batchMessages' | 'lingerMs' | 'prefetch'>;

/**
 * The collector's unit of work: deliveries of one session, in delivery order. They are decoded only
 * when the batch is committed, in the same tick: records that never outlive a young-generation GC
 * keep the heap (and RSS) small.
 */
export interface DeliveryBatch<Owner, Item> {
  /** The session the deliveries came on: only its channel may ack them. */
  readonly owner: Owner;
  /** Raw deliveries, oldest first; the committer takes them out when it decodes. */
  readonly deliveries: Item[];
  /** The newest delivery: one multiple-ack of it acks the whole batch. */
  last: Item | null;
  messages: number;
  /** Records the deliveries hold, counted without decoding (NDJSON lines). */
  records: number;
  /** Clock time of its first delivery: linger is a duration, not a wall-clock time. */
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

/**
 * Gathers deliveries into batches (pure: no timers, no broker). Deliveries that arrive while the
 * batch in hand is full wait raw (compact) in a backlog until their turn. It also sizes the prefetch:
 * the broker counts it in messages, but memory is spent in records, so it starts small and then
 * follows about two batches of the records per message actually seen (500-record NDJSON needs ~20).
 */
export class BatchAssembler<Owner, Item> {
  private current: DeliveryBatch<Owner, Item> | null = null;
  private readonly backlog: Item[] = [];
  private recordsPerMessage = 1;
  /** The prefetch the session subscribes with; `resize` changes it. */
  prefetch: number;

  constructor(
    private readonly limits: BatchLimits,
    /** Counts a delivery's records without decoding it. */
    private readonly recordsIn: (item: Item) => number,
    /** Monotonic milliseconds (performance.now). */
    private readonly clock: () => number,
  ) {
    this.prefetch = Math.min(limits.prefetch, INITIAL_PREFETCH);
  }

  /** Takes one delivery of `owner`; true when its batch should be committed now rather than linger. */
  add(owner: Owner, item: Item): boolean {
    // A batch left from a lost session is never acked here: its deliveries come back from the broker.
    if (this.current === null || this.current.owner !== owner) this.current = this.newBatch(owner);
    if (this.backlog.length > 0 || this.isFull(this.current)) this.backlog.push(item);
    else this.append(this.current, item);
    return this.isFull(this.current) || this.current.messages >= this.prefetch;
  }

  /** A batch is due when full, when it holds all that was prefetched, when draining, or after its linger. */
  isDue(draining: boolean): boolean {
    const batch = this.current;
    if (batch === null || batch.messages === 0) return false;
    // Holding every prefetched message, nothing more comes until we ack: lingering would only idle.
    if (this.isFull(batch) || batch.messages >= this.prefetch || draining) return true;
    return this.clock() - batch.firstAt >= this.limits.lingerMs;
  }

  /** Milliseconds until the batch in hand lingers long enough; null when there is none. */
  lingerLeft(): number | null {
    const batch = this.current;
    if (batch === null || batch.messages === 0) return null;
    return Math.max(0, batch.firstAt + this.limits.lingerMs - this.clock());
  }

  /** Hands over the batch in hand and starts the next one from the backlog, oldest first. */
  take(): DeliveryBatch<Owner, Item> | null {
    const batch = this.current;
    this.current = null;
    if (batch !== null && this.backlog.length > 0) {
      const next = this.newBatch(batch.owner);
      while (this.backlog.length > 0 && !this.isFull(next)) {
        const item = this.backlog.shift();
        if (item !== undefined) this.append(next, item);
      }
      this.current = next;
    }
    return batch;
  }

  /** Forgets every delivery in hand: a lost session's unacked deliveries come back from the broker. */
  clear(): void {
    this.current = null;
    this.backlog.length = 0;
  }

  /**
   * Learns from a batch of `messages` that decoded into `seen` records and dead letters; returns the
   * prefetch to resize to when the current one is off by more than a factor of two, else null.
   */
  learn(messages: number, seen: number): number | null {
    if (messages === 0) return null;
    this.recordsPerMessage = 0.5 * this.recordsPerMessage + 0.5 * (seen / messages);
    const wanted = prefetchFor(this.recordsPerMessage, this.limits);
    if (wanted <= this.prefetch * 2 && wanted * 2 >= this.prefetch) return null;
    return wanted;
  }

  /** The records per message learned so far (for the resize log line). */
  get recordsPerMessageSeen(): number {
    return this.recordsPerMessage;
  }

  private newBatch(owner: Owner): DeliveryBatch<Owner, Item> {
    return { owner, deliveries: [], last: null, messages: 0, records: 0, firstAt: this.clock() };
  }

  private isFull(batch: DeliveryBatch<Owner, Item>): boolean {
    return batch.records >= this.limits.batchRecords || batch.messages >= this.limits.batchMessages;
  }

  private append(batch: DeliveryBatch<Owner, Item>, item: Item): void {
    if (batch.messages === 0) batch.firstAt = this.clock();
    batch.deliveries.push(item);
    batch.records += this.recordsIn(item);
    batch.messages++;
    batch.last = item;
  }
}
