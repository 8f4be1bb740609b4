import { errorMessage, type Pattern, type StoredRecord } from '../protocol/index.js';
import { parseQuery, queryMatcher } from '../protocol/query.js';
import type { ApiFilters, ApiOptions } from './api.js';
import { fetchHistory } from './backfill.js';
import { handOverToLive, showStored } from './handover.js';
import { createLiveTail, type LiveEvent } from './live.js';
import type { TailSink } from './output/sink.js';
import { Seam } from './seam.js';

/** What one logtail run does, validated and frozen at the CLI edge. */
export interface TailConfig {
  readonly amqpUrl: string;
  readonly exchange: string;
  readonly apiUrl: string;
  readonly token: string | undefined;
  readonly patterns: readonly Pattern[];
  /** Backfill from the HTTP API from this time before going live. */
  readonly since: Date | undefined;
  /** Show only the newest this many records of the history first (`-n`), then follow. */
  readonly lines?: number | undefined;
  /** End of the history window (`--until`, which implies no follow). */
  readonly until?: Date | undefined;
  /** false: print the history and stop (`--no-follow`). */
  readonly follow: boolean;
  /** Full-text filter: sent to the API for history, applied here to the live stream. */
  readonly query: string | undefined;
  readonly host: string | undefined;
  /** Fill a broker outage from the API after reconnecting (when the user pointed at an API). */
  readonly backfillOnReconnect: boolean;
  readonly maxLength: number;
  readonly maxLengthBytes: number;
  readonly prefetch: number;
  readonly connectionName: string;
}

export interface TailDeps {
  fetch?: typeof fetch;
  now?: () => number;
}

/** Record keys remembered for the seam's dedupe: well over the outage margin at 10 000 records/s. */
const DEDUPE_MEMORY = 150_000;

/** Seconds of overlap when backfilling an outage: agents' clocks and batching lag a little. */
const OUTAGE_MARGIN_MS = 10_000;

/** The live-side version of the API's filters (`-q`, `--host`); history is filtered by the API. */
export function liveFilter(
  query: string | undefined,
  host: string | undefined,
): (r: StoredRecord) => boolean {
  // The same query language as the store answers for history (protocol/query.ts), so the seam is invisible.
  const matches = query === undefined || query.trim() === '' ? undefined : queryMatcher(parseQuery(query));
  if (matches === undefined && host === undefined) return () => true;
  return (r) => (host === undefined || r.host === host) && (matches === undefined || matches(r));
}

/**
 * One logtail run: history (when asked), then the live stream, with no gap and no duplicate at
 * the seam: the live queue is bound before the history is read, live records are held meanwhile,
 * and everything passes one dedupe by id. Resolves when `signal` aborts (or, without follow,
 * when the history is printed); rejects with a WarrenError the CLI turns into one line.
 */
export async function runTail(
  config: TailConfig,
  sink: TailSink,
  signal: AbortSignal,
  deps: TailDeps = {},
): Promise<void> {
  const now = deps.now ?? Date.now;
  // Dedupe memory is only needed where history meets live; a plain live tail keeps none.
  // `-n` without --since reads the newest records of all time.
  const historyFrom = config.since ?? (config.lines !== undefined ? new Date(0) : undefined);
  const needsDedupe = historyFrom !== undefined || config.backfillOnReconnect;
  const seam = new Seam({ remember: needsDedupe ? DEDUPE_MEMORY : 0 });
  const passesFilters = liveFilter(config.query, config.host);
  const api: ApiOptions = { apiUrl: config.apiUrl, token: config.token, signal, fetch: deps.fetch };
  const sources = config.patterns.map((p) => p.source);
  /** The API's filters for a read from `since`: the same patterns, `-q` and `--host` as live. */
  const filters = (since: Date): ApiFilters => ({
    patterns: sources,
    since,
    until: config.until,
    q: config.query,
    host: config.host,
  });

  /** Shows the history since `since` that was not shown yet; how many, and the store position read at. */
  async function backfill(
    since: Date,
    newest?: number,
  ): Promise<{ shown: number; position: string | undefined }> {
    let shown = 0;
    let position: string | undefined;
    for await (const page of fetchHistory({ ...filters(since), newest }, api)) {
      position ??= page.streamCursor;
      shown += await showStored(page.records, page.invalid, seam, sink);
    }
    return { shown, position };
  }

  /** The store's position now (one one-record read), or undefined when the API cannot say. */
  async function storePosition(since: Date): Promise<string | undefined> {
    try {
      for await (const page of fetchHistory({ ...filters(since), pageSize: 1 }, api))
        return page.streamCursor;
    } catch {
      // The reconnect says what this costs, and falls back to the backfill's position.
    }
    return undefined;
  }

  /** Follows the store's stream from `position` until it reaches the live queue (see handover.ts). */
  function followStoreUntilLive(since: Date, position: string | undefined): Promise<number> {
    return handOverToLive({ query: filters(since), position, api, seam, sink, now, signal });
  }

  /** Ends holding: the live records held meanwhile, and how many the hold buffer could not keep. */
  async function releaseHeld(): Promise<void> {
    const held = seam.release();
    const overflow = seam.takeOverflow();
    if (overflow > 0) sink.dropped(overflow, 'seam');
    if (held.length > 0) await sink.records(held);
  }

  /** After a reconnect: shows what the outage missed from the API, then the held live records. */
  async function fillOutage(
    since: number,
    atLoss: Promise<string | undefined> | undefined,
    outage: string,
  ): Promise<void> {
    let filled: number | undefined;
    try {
      const from = new Date(since - OUTAGE_MARGIN_MS);
      const history = await backfill(from);
      const position = await atLoss;
      if (position === undefined && !signal.aborted) {
        sink.notice(
          "could not read the store's position when the connection dropped; records published during the outage with older timestamps may be missing",
        );
      }
      // From the disconnect's position the stream admits any timestamp, as the live queue would have.
      const streamed =
        position === undefined
          ? await followStoreUntilLive(from, history.position)
          : await followStoreUntilLive(new Date(0), position);
      filled = history.shown + streamed;
    } catch (err) {
      sink.notice(`reconnected after ${outage}s, but could not backfill the outage: ${errorMessage(err)}`);
    }
    if (filled !== undefined)
      sink.notice(`reconnected after ${outage}s; ${filled} missed record(s) filled in from the API`);
    await releaseHeld();
    sink.status('live');
  }

  if (!config.follow) {
    if (historyFrom === undefined) return;
    await backfill(historyFrom, config.lines);
    return;
  }

  let lostAt: number | undefined;
  // Records stored during an outage may carry any timestamp (a spool drained): the stream after
  // the reconnect starts from the store's position at the disconnect, not the backfill's.
  let positionAtLoss: Promise<string | undefined> | undefined;
  /** The outage fills, one after another (a second outage waits for the first fill). */
  let outageFill: Promise<void> = Promise.resolve();
  const onEvent = (event: LiveEvent): void => {
    switch (event.type) {
      case 'disconnected':
        lostAt ??= event.at;
        if (config.backfillOnReconnect) {
          seam.hold();
          positionAtLoss ??= storePosition(new Date(event.at));
        }
        sink.status('reconnecting', { kind: 'lost', reason: event.reason });
        return;
      case 'retrying':
        sink.status('reconnecting', {
          kind: 'retry',
          reason: event.reason,
          attempt: event.attempt,
          delayMs: event.delayMs,
        });
        return;
      case 'connected': {
        if (!event.reconnect) return;
        const since = lostAt ?? now();
        const atLoss = positionAtLoss;
        lostAt = undefined;
        positionAtLoss = undefined;
        const outage = ((now() - since) / 1000).toFixed(1);
        if (!config.backfillOnReconnect) {
          sink.notice(
            `reconnected after ${outage}s; records published meanwhile are not shown (pass --api or --since to backfill them)`,
          );
          sink.status('live');
          return;
        }
        sink.status('backfilling', {
          kind: 'note',
          text: `reconnected after ${outage}s; filling the gap from the API`,
        });
        outageFill = outageFill.then(() => fillOutage(since, atLoss, outage));
        return;
      }
    }
  };

  const live = createLiveTail(
    {
      amqpUrl: config.amqpUrl,
      exchange: config.exchange,
      bindings: [...new Set(config.patterns.flatMap((p) => p.bindings))],
      maxLength: config.maxLength,
      maxLengthBytes: config.maxLengthBytes,
      prefetch: config.prefetch,
      connectionName: config.connectionName,
    },
    {
      records: (records) => {
        const fresh = seam.live(records.filter(passesFilters));
        return fresh.length > 0 ? sink.records(fresh) : undefined;
      },
      dropped: (count) => sink.dropped(count, 'broker'),
      rejected: (count, reason) => sink.notice(`${count} unreadable line(s) in a message: ${reason}`),
      event: onEvent,
    },
  );

  // Bind first, hold live records while the history is read: nothing falls between the two.
  if (historyFrom !== undefined) seam.hold();
  sink.status('connecting');
  await live.start();
  try {
    if (historyFrom !== undefined) {
      const what =
        config.lines !== undefined
          ? `the last ${config.lines} record(s)${config.since === undefined ? '' : ` since ${historyFrom.toISOString()}`}`
          : `history since ${historyFrom.toISOString()}`;
      sink.status('backfilling', { kind: 'note', text: what });
      const history = await backfill(historyFrom, config.lines);
      await followStoreUntilLive(historyFrom, history.position);
      await releaseHeld();
    }
    if (!signal.aborted) sink.status('live');
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await outageFill;
  } finally {
    await live.close();
    sink.status('closed');
  }
}
