import { ErrorCodes, redactUrl, WarrenError, type StoredRecord } from '../protocol/index.js';
import type { ApiFilters, ApiOptions } from './api.js';
import type { TailSink } from './output/sink.js';
import type { Seam } from './seam.js';
import { readStoreStream } from './stream.js';

/** How long to wait for the history to reach the live stream: quiet stream / records flowing. */
const SETTLE_QUIET_MS = 1_500;
const SETTLE_MAX_MS = 10_000;

export interface HandoverOptions {
  /** The history's filters, from the time the stream admits records. */
  readonly query: ApiFilters;
  /** The store position to follow from; undefined when the API sent none (an error). */
  readonly position: string | undefined;
  /** Where the API is; its signal is replaced by one that also stops when the handover ends. */
  readonly api: ApiOptions;
  /** The run's one dedupe; its held live records say when the stream has caught up. */
  readonly seam: Seam;
  readonly sink: Pick<TailSink, 'records' | 'notice'>;
  readonly now: () => number;
  /** The run's signal: aborting it ends the handover. */
  readonly signal: AbortSignal;
}

/**
 * Shows records read from the store (history pages, the stream) that the seam has not shown yet,
 * and says how many entries the API sent were not records. Resolves with how many it showed.
 */
export async function showStored(
  records: readonly StoredRecord[],
  invalid: number,
  seam: Seam,
  sink: Pick<TailSink, 'records' | 'notice'>,
): Promise<number> {
  if (invalid > 0) sink.notice(`the API sent ${invalid} entries that are not records; they are not shown`);
  const fresh = seam.history(records);
  if (fresh.length > 0) await sink.records(fresh);
  return fresh.length;
}

/**
 * Records published before the live queue was bound may reach the store only after the history
 * read (a slow collector, an agent's spool drained late, with any timestamp): neither the history
 * nor the live queue has them. Follow the store's stream from the history's position, so every
 * record stored after the read is seen, until it reaches a record the live queue also holds;
 * say so if it never does. Resolves with how many records it showed.
 */
export async function handOverToLive(options: HandoverOptions): Promise<number> {
  const { query, position, api, seam, sink, now, signal } = options;
  if (seam.caughtUp || signal.aborted) return 0;
  if (position === undefined) {
    throw new WarrenError(
      ErrorCodes.API_ERROR,
      `the Warren API at ${redactUrl(api.apiUrl)} sent no stream_cursor to hand over from history to live`,
      { hint: 'is --api pointing at a Warren collector of this version?' },
    );
  }
  const started = now();
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  let shown = 0;
  let ended = false;
  let failure: Error | undefined;
  // Wakes the wait below: a stream event may have caught up, or the stream ended.
  let wake: () => void = () => undefined;
  const reading = readStoreStream(query, position, { ...api, signal: stop.signal }, async (event) => {
    if (event.type === 'records') {
      shown += await showStored(event.records, event.invalid, seam, sink);
    } else if (event.type === 'dropped') {
      sink.notice(
        `the collector skipped ${event.count} stored record(s) while logtail caught up with it; they may be missing`,
      );
    } else {
      sink.notice(
        "the collector's store was reset (rebuilt or emptied) while logtail caught up with it; records may be missing",
      );
    }
    wake();
  }).then(
    () => undefined,
    (err: unknown) => {
      failure = err instanceof Error ? err : new Error(String(err));
    },
  );
  void reading.finally(() => {
    ended = true;
    wake();
  });
  try {
    while (!seam.caughtUp && !signal.aborted && !ended) {
      const limit = seam.heldCount > 0 ? SETTLE_MAX_MS : SETTLE_QUIET_MS;
      const left = started + limit - now();
      if (left <= 0) {
        if (seam.heldCount > 0) {
          sink.notice(
            `the stored history had not reached the live stream after ${limit / 1000}s (is the collector behind?); records published just before logtail started may be missing`,
          );
        }
        break;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    stop.abort();
    signal.removeEventListener('abort', abort);
    await reading;
  }
  if (failure !== undefined) throw failure;
  return shown;
}
