import { ndjsonBody } from '../protocol/index.js';
import type { Batch } from './batch.js';

/** Bounds of one message: whichever is reached first seals the batch. */
export interface BatchLimits {
  /** Records per message (default 500). */
  maxRecords: number;
  /** Body bytes per message (default 256 KiB). */
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

interface OpenBatch {
  lines: string[];
  bytes: number;
  firstSeq: number;
}

/**
 * Collects encoded records per routing key and seals them into NDJSON batches (CONTRACT §4:
 * every record of a message shares the message's routing key).
 */
export class Batcher {
  private readonly open = new Map<string, OpenBatch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: BatchLimits,
    private readonly messageIdPrefix: string,
    private readonly onSeal: (batch: Batch) => void,
    /** Whether delivery is busy now: the linger then grows to BUSY_LINGER_MS (adaptive batching). */
    private readonly busy: () => boolean = () => false,
  ) {}

  add(key: string, line: string, seq: number): void {
    let batch = this.open.get(key);
    // Byte bound counts UTF-16 length: cheap, and within 3x of the UTF-8 size for any text.
    if (batch !== undefined && batch.bytes + line.length + 1 > this.limits.maxBytes) {
      this.seal(key, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { lines: [], bytes: 0, firstSeq: seq };
      this.open.set(key, batch);
      this.timer ??= setTimeout(
        () => this.onLinger(),
        this.busy() ? Math.max(this.limits.lingerMs, BUSY_LINGER_MS) : this.limits.lingerMs,
      );
    }
    batch.lines.push(line);
    batch.bytes += line.length + 1;
    if (batch.lines.length >= this.limits.maxRecords) this.seal(key, batch);
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
    const count = batch.lines.length;
    this.onSeal({
      key,
      // One join and one UTF-8 encode per batch: per-line Buffer writes cost more than the big string.
      body: ndjsonBody(batch.lines),
      count,
      firstSeq: batch.firstSeq,
      messageId: `${this.messageIdPrefix}:${batch.firstSeq}`,
    });
  }
}
