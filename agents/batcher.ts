import type { Batch } from './batch.js';

/** Bounds of one message: whichever is reached first seals the batch. */
export interface BatchLimits {
  /** Records per message (default 500). */
  maxRecords: number;
  /** Body bytes (UTF-8) per message (default 256 KiB). */
  maxBytes: number;
  /** How long the first record of a batch may wait for company (default 20 ms). */
  lingerMs: number;
}

export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({
  maxRecords: 500,
  maxBytes: 256 * 1024,
  lingerMs: 20,
});

/**
 * The linger while delivery is busy (messages queued behind a full window): waiting longer then
 * costs no latency, as the batch could not be sent sooner, and fills messages (with 85 keys at
 * 60k/s, 44 records a message at 20 ms): the broker's work is per message.
 */
export const BUSY_LINGER_MS = 250;

/** Body buffers come in multiples of this; it is also the smallest. */
const SLAB_STEP = 16 * 1024;
/**
 * Confirmed bodies' buffers kept for reuse at most, unless the shipper says (beyond it they are
 * left to the GC): a window's worth (32 × 256 KiB), as the broker confirms a window at once. At
 * 1 MiB most of such a burst was dropped, and the pool missed on nearly every take: 300 MiB of
 * buffers for 1M syslog lines (170 MB of records) waited in the old generation for a major GC.
 */
export const DEFAULT_REUSE_BYTES = 8 * 1024 * 1024;
/**
 * Bytes all open batches may hold together. Past it the batch just written to is sealed if it
 * holds at least its share, so with many busy keys (85 in issue 15's workload) memory stays
 * bounded while messages stay large (about twice the share: ~180 records of 270 bytes).
 */
export const OPEN_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Body buffers in multiples of SLAB_STEP, reused once their batch is confirmed. V8 frees a
 * buffer's memory only when it collects the wrapper, and a body lives long enough (linger,
 * window) to reach the old generation, where tens of MiB of dead bodies waited for a major GC.
 */
class SlabPool {
  /** Free buffers by size in steps (index 1 = SLAB_STEP bytes). */
  private readonly free: Buffer[][] = [];
  private freeBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A buffer of at least `min` bytes, reused if one of up to twice that size is free. */
  take(min: number): Buffer {
    const steps = Math.max(1, Math.ceil(min / SLAB_STEP));
    for (let s = steps; s <= steps * 2 && s < this.free.length; s++) {
      const reused = this.free[s]?.pop();
      if (reused !== undefined) {
        this.freeBytes -= reused.length;
        return reused;
      }
    }
    return Buffer.allocUnsafeSlow(steps * SLAB_STEP);
  }

  give(slab: Buffer): void {
    if (this.freeBytes + slab.length > this.maxBytes || slab.length % SLAB_STEP !== 0) return;
    const steps = slab.length / SLAB_STEP;
    while (this.free.length <= steps) this.free.push([]);
    this.free[steps]!.push(slab);
    this.freeBytes += slab.length;
  }
}

interface OpenBatch {
  /** The NDJSON body so far: each record is written as UTF-8 when it comes, so its string dies young. */
  buf: Buffer;
  used: number;
  count: number;
  firstSeq: number;
}

/**
 * Collects encoded records per routing key and seals them into NDJSON batches (CONTRACT §4:
 * every record of a message shares the message's routing key).
 */
export class Batcher {
  private readonly open = new Map<string, OpenBatch>();
  private readonly pool: SlabPool;
  private timer: NodeJS.Timeout | undefined;
  /** Bytes written into open batches. */
  private openBytes = 0;

  constructor(
    private readonly limits: BatchLimits,
    private readonly messageIdPrefix: string,
    private readonly onSeal: (batch: Batch) => void,
    /** Whether delivery is busy now: the linger then grows to BUSY_LINGER_MS (adaptive batching). */
    private readonly busy: () => boolean = () => false,
    /** Bytes of confirmed bodies' buffers kept for reuse. */
    reuseBytes: number = DEFAULT_REUSE_BYTES,
  ) {
    this.pool = new SlabPool(reuseBytes);
  }

  add(key: string, line: string, seq: number): void {
    let batch = this.open.get(key);
    // A UTF-16 unit is at most 3 UTF-8 bytes: the exact size is counted only near the end of the buffer.
    if (
      batch !== undefined &&
      batch.used + line.length * 3 + 1 > Math.min(batch.buf.length, this.limits.maxBytes)
    ) {
      const need = Buffer.byteLength(line) + 1;
      if (batch.used + need > this.limits.maxBytes) {
        this.seal(key, batch);
        batch = undefined;
      } else if (batch.used + need > batch.buf.length) {
        const grown = this.pool.take(Math.max(batch.buf.length * 2, batch.used + need));
        batch.buf.copy(grown, 0, 0, batch.used);
        this.pool.give(batch.buf);
        batch.buf = grown;
      }
    }
    if (batch === undefined) {
      batch = {
        // Small first: with many keys open at once, a buffer sized for a full message each held twice the data.
        buf: this.pool.take(line.length * 3 + 1),
        used: 0,
        count: 0,
        firstSeq: seq,
      };
      this.open.set(key, batch);
      this.timer ??= setTimeout(
        () => this.onLinger(),
        this.busy() ? Math.max(this.limits.lingerMs, BUSY_LINGER_MS) : this.limits.lingerMs,
      );
    }
    // Records kept as strings until sealing were promoted to the old generation by the time they
    // were joined, and most of the agent's CPU went to collecting them (and its RSS to holding them).
    const written = batch.buf.write(line, batch.used) + 1;
    batch.used += written;
    batch.buf[batch.used - 1] = 0x0a;
    batch.count++;
    this.openBytes += written;
    if (
      batch.count >= this.limits.maxRecords ||
      (this.openBytes > OPEN_MAX_BYTES && batch.used * this.open.size >= this.openBytes)
    )
      this.seal(key, batch);
  }

  /** Seals every open batch now (linger expired, shutdown). */
  flush(): void {
    for (const [key, batch] of this.open) this.seal(key, batch);
  }

  /** Smallest sequence not yet sealed, or undefined when nothing is open. */
  minOpenSeq(): number | undefined {
    let min: number | undefined;
    for (const batch of this.open.values())
      if (min === undefined || batch.firstSeq < min) min = batch.firstSeq;
    return min;
  }

  /**
   * A batch the broker confirmed: its body's buffer is reused. Only for a batch nothing reads any
   * more (amqplib copies a body into its frames during publish; the spool copies it too).
   */
  recycle(batch: Batch): void {
    if (batch.slab !== undefined) this.pool.give(batch.slab);
  }

  close(): void {
    this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onLinger(): void {
    this.timer = undefined;
    this.flush();
  }

  private seal(key: string, batch: OpenBatch): void {
    this.open.delete(key);
    this.openBytes -= batch.used;
    this.onSeal({
      key,
      body: batch.buf.subarray(0, batch.used),
      slab: batch.buf,
      count: batch.count,
      firstSeq: batch.firstSeq,
      messageId: `${this.messageIdPrefix}:${batch.firstSeq}`,
    });
  }
}
