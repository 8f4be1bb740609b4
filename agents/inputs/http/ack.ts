import { sleep } from '../../../protocol/index.js';
import type { ParsedRecord } from '../../record.js';
import type { RecordSink } from '../input.js';

/**
 * What the sender of a request may be told of its records: all safe (confirmed by the broker or
 * fsync'd in the spool), or not (busy: the status, Retry-After and reason of the door's answer).
 * Busy before any was logged means none was taken; busy after (the spool filled, or 30 s passed)
 * means they were taken but are not safe yet: they are still delivered, so a retry may store them twice.
 */
export type Outcome =
  | { readonly kind: 'safe' }
  | {
      readonly kind: 'busy';
      readonly status: 429 | 503;
      readonly retryAfterS: number;
      readonly reason: string;
    };

export interface AckTimes {
  /** How long a request waits for back-pressure to ease before 429. */
  readonly busyWaitMs: number;
  /** How long it waits for its records to be confirmed or spooled before 503. */
  readonly safeTimeoutMs: number;
}

const SPOOL_FULL = {
  kind: 'busy',
  status: 503,
  retryAfterS: 5,
  reason: 'the spool is full: the broker is away and the disk buffer holds all it may',
} as const satisfies Outcome;

/**
 * Hands a whole request's records to the shipper, together, and waits until every one is safe:
 * the at-least-once promise of the HTTP doors (CONTRACT §5). Nothing is logged while the spool is
 * full or back-pressure holds inputs, so a refused request leaves nothing half-published.
 */
export async function shipWhole(
  sink: RecordSink,
  batch: readonly ParsedRecord[],
  times: AckTimes,
): Promise<Outcome> {
  if (batch.length === 0) return { kind: 'safe' };
  // Back-pressure (the broker is up but behind) holds the request a while: TCP inputs pause the same way.
  const waitUntil = Date.now() + times.busyWaitMs;
  while (!sink.accepting && !sink.spoolFull && Date.now() < waitUntil) await sleep(20);
  if (sink.spoolFull) return SPOOL_FULL;
  if (!sink.accepting)
    return {
      kind: 'busy',
      status: 429,
      retryAfterS: 1,
      reason: 'logship is behind the broker: retry shortly',
    };
  for (const record of batch) sink.log(record);
  // Nothing of the request is referenced past this point: its records are encoded, and may be collected.
  const end = sink.nextSeq;
  if (await sink.whenSafe(end, times.safeTimeoutMs)) return { kind: 'safe' };
  if (sink.spoolFull)
    return {
      ...SPOOL_FULL,
      reason:
        'the spool filled up while taking these records: the broker is away and the disk buffer holds all it may (they are kept in memory and delivered when it is back, so a retry may store them twice)',
    };
  return {
    kind: 'busy',
    status: 503,
    retryAfterS: 5,
    reason: `the records were neither confirmed nor spooled within ${times.safeTimeoutMs / 1000} s (a retry may store them twice)`,
  };
}
