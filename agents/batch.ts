/** A sealed batch: records of one routing key as one `application/x-ndjson` message body. */
export interface Batch {
  readonly key: string;
  readonly body: Buffer;
  readonly count: number;
  /** Sequence of the first record inside (the smallest: records enter in sequence order). */
  readonly firstSeq: number;
  readonly messageId: string;
  /**
   * The buffer `body` is a view of, when the batcher made it: handed back to the batcher
   * (Batcher.recycle) once the broker confirmed the batch, so it is reused instead of collected.
   */
  readonly slab?: Buffer;
}
