/**
 * The Ink screen's state: its shape, where it starts, and which records the `/` filter and the
 * minimum severity let through. How actions change it is reducer.ts.
 */
import { severityRank, type Severity, type StoredRecord } from '../protocol/index.js';
import { parseQuery, queryMatcher } from '../protocol/query.js';
import { zeroCounts, type SeverityCounts } from './counts.js';
import { queryHighlighter, regexHighlighter, type Ranges } from './highlight.js';
import type { ConnectionStatus } from './output/sink.js';
import type { RateBuckets } from './rates.js';
import type { VolumeBuckets } from './volume.js';

export interface Connection {
  readonly status: ConnectionStatus;
  readonly detail: string | undefined;
  /** How many times the broker connection was re-established. */
  readonly reconnects: number;
}

/** One finished line on screen; `key` is unique for the whole run (React keys, <Static>). */
export type Line =
  | { readonly kind: 'record'; readonly key: number; readonly record: StoredRecord }
  | {
      readonly kind: 'skipped';
      readonly key: number;
      readonly count: number;
      readonly bySeverity: Partial<SeverityCounts>;
      readonly reason: 'rate' | 'paused';
    }
  | { readonly kind: 'notice'; readonly key: number; readonly text: string };

/** Lines appended together (one batch): one <Static> item, so a frame costs one node, not hundreds. */
export interface LineBlock {
  readonly key: number;
  readonly lines: readonly Line[];
}

export interface Filter {
  /** As the user typed it. */
  readonly source: string;
  readonly test: (record: StoredRecord) => boolean;
  /** Where it matched in a message: what the scrollback highlights. */
  readonly highlight: (text: string) => Ranges;
}

/** The lines around a record, from the collector's `GET /api/logs/context`. */
export type Context =
  | { readonly state: 'loading' }
  | { readonly state: 'loaded'; readonly records: readonly StoredRecord[]; readonly target: number }
  | { readonly state: 'failed'; readonly message: string; readonly hint: string | undefined };

/** The record selected in the scrollback (Enter), shown whole with its context. */
export interface Detail {
  readonly record: StoredRecord;
  readonly context: Context;
}

/** Browsing the scrollback: the stream is paused and a cursor walks the records held. */
export interface Browse {
  /** The selected record's place among all records ever held (held[cursor - heldOffset]). */
  readonly cursor: number;
  readonly detail: Detail | null;
}

export interface Limits {
  /** Lines drawn per batch (the screen batches every ~100 ms): up to this many, all are drawn. */
  readonly linesPerBatch: number;
  /**
   * Lines drawn from a batch larger than linesPerBatch (a flood): the newest few, the rest summarised.
   * Drawing is what costs (Ink styles every character), so a flood draws less, not more.
   * 20 per ~100 ms batch (200 lines/s, more than a 45-row terminal shows): 40 cost 0.46 CPU s/s at
   * 20 000 records/s, 20 cost 0.32 (Ink's wrap and ANSI tokenising are most of it).
   */
  readonly floodLines: number;
  /** Records kept while paused; beyond it they are counted and summarised on resume. */
  readonly pauseBuffer: number;
  /** Lines kept for one <Static> generation before a fresh one starts (bounds memory). */
  readonly linesPerGeneration: number;
  /** Distinct facilities (and hosts) counted; the rest go under `other`. */
  readonly facilities: number;
  /** Records held for the scrollback (the newest, whatever the filters): history and live alike. */
  readonly scrollback: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  linesPerBatch: 400,
  floodLines: 20,
  pauseBuffer: 10_000,
  linesPerGeneration: 1_000,
  facilities: 200,
  scrollback: 10_000,
});

export interface TailState {
  readonly patterns: readonly string[];
  readonly connection: Connection;
  readonly startedAt: number;
  /** Records received since start (or the last clear), whatever the filters. */
  readonly total: number;
  readonly bySeverity: SeverityCounts;
  readonly byFacility: ReadonlyMap<string, number>;
  readonly byHost: ReadonlyMap<string, number>;
  /** Records per 10 s and severity over the last five minutes, by their own time. */
  readonly volume: VolumeBuckets;
  readonly rateBuckets: RateBuckets;
  /** Records the broker dropped because the tail could not keep up (the capped queue's overflow). */
  readonly dropped: number;
  /** Records received but summarised instead of drawn, to keep up. */
  readonly skipped: number;
  readonly paused: boolean;
  readonly pending: readonly StoredRecord[];
  /** Records that arrived while paused and did not fit the pause buffer. */
  readonly pendingOverflow: number;
  readonly pendingOverflowBySeverity: Partial<SeverityCounts>;
  readonly filter: Filter | null;
  readonly minSeverity: Severity | null;
  /** The current <Static> generation's lines: append-only until the generation changes. */
  readonly lines: readonly Line[];
  /** The same lines grouped as appended: what <Static> renders. */
  readonly blocks: readonly LineBlock[];
  readonly generation: number;
  readonly nextKey: number;
  /** The newest `limits.scrollback` records received, oldest first: what the scrollback walks. */
  readonly held: readonly StoredRecord[];
  /** Records let go from the front of `held` so far (so a cursor survives new arrivals). */
  readonly heldOffset: number;
  readonly browse: Browse | null;
  /** The key help overlay (`?`). */
  readonly help: boolean;
  /** The `/` filter prompt while it is open. */
  readonly prompt: { readonly text: string; readonly error: string | undefined } | null;
  readonly limits: Limits;
}

/** The counts as at start, and after `c` clears them at `now`. */
export function countsFrom(
  now: number,
): Pick<
  TailState,
  'startedAt' | 'total' | 'bySeverity' | 'byFacility' | 'byHost' | 'volume' | 'rateBuckets' | 'skipped'
> {
  return {
    startedAt: now,
    total: 0,
    bySeverity: zeroCounts(),
    byFacility: new Map(),
    byHost: new Map(),
    volume: new Map(),
    rateBuckets: [],
    skipped: 0,
  };
}

/** No records held for a resume: at start, after following again, and after `c`. */
export const EMPTY_PAUSE_BUFFER: Pick<
  TailState,
  'pending' | 'pendingOverflow' | 'pendingOverflowBySeverity'
> = Object.freeze({ pending: [], pendingOverflow: 0, pendingOverflowBySeverity: {} });

export function initialState(
  patterns: readonly string[],
  now: number,
  limits: Limits = DEFAULT_LIMITS,
  minSeverity: Severity | null = null,
): TailState {
  return {
    patterns,
    connection: { status: 'connecting', detail: undefined, reconnects: 0 },
    ...countsFrom(now),
    dropped: 0,
    paused: false,
    ...EMPTY_PAUSE_BUFFER,
    filter: null,
    minSeverity,
    lines: [],
    blocks: [],
    generation: 0,
    nextKey: 0,
    held: [],
    heldOffset: 0,
    browse: null,
    help: false,
    prompt: null,
    limits,
  };
}

/**
 * A filter from what the user typed: `/regex/flags` is a regular expression over the message, host,
 * app, routing key and fields; anything else is the one query language (protocol/query.ts), as -q
 * and the API's q read it.
 */
export function parseFilter(text: string): Filter {
  const source = text.trim();
  const regex = /^\/(.+)\/([a-z]*)$/.exec(source);
  if (regex === null) {
    const query = parseQuery(source);
    return { source, test: queryMatcher(query), highlight: queryHighlighter(query) };
  }
  const [, body = '', flags = ''] = regex;
  const re = new RegExp(body, flags.replace('g', '') || 'i');
  const match = (h: string): boolean => re.test(h);
  return {
    source,
    highlight: regexHighlighter(re),
    test: (r) =>
      match(r.msg) ||
      (r.host !== undefined && match(r.host)) ||
      (r.app !== undefined && match(r.app)) ||
      match(r.routing_key) ||
      (r.fields !== undefined && match(JSON.stringify(r.fields))),
  };
}

/** Whether the minimum severity and the `/` filter let a record through: drawn, not only counted. */
export function visible(state: TailState, record: StoredRecord): boolean {
  if (state.minSeverity !== null && severityRank(record.severity) > severityRank(state.minSeverity))
    return false;
  return state.filter === null || state.filter.test(record);
}
