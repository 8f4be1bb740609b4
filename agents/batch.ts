/** A sealed batch: records of one routing key as one `application/x-ndjson` message body. */
export interface Batch {
  readonly key: string;
  readonly body: Buffer;
  readonly count: number;
  /** Sequence of the first record inside (the smallest: records enter in sequence order). */
  readonly firstSeq: number;
  readonly messageId: string;
}
