import type { Pattern, StoredRecord } from '../../protocol/index.js';
import { parseQuery, type Query } from '../../protocol/query.js';
import { parseSearch, type TextSearch } from '../../protocol/search.js';
import { severityFromRank } from '../../protocol/severity.js';

/**
 * What the HTTP API reads from the store: pages in (ts, seq) order, the live stream in seq order,
 * counts and facts. This file is the interface only: `QueryStore` is what the API awaits;
 * `SyncQueryStore` is one SQLite read connection (sqlite-query-store.ts), which the read pool
 * (read-pool.ts) runs in reader processes so no query ever runs on the thread that ingests.
 * Another store (PostgreSQL) would be one more file implementing QueryStore.
 */

export type Order = 'asc' | 'desc';

/** A place in the (ts, seq) order of records; paging resumes strictly after it. */
export interface Position {
  ts: number;
  seq: number;
}

/**
 * What `q` asks: a query of the one query language (protocol/query.ts, the default), words only
 * (protocol/search.ts, what the live matcher of older clients sends), or a raw FTS5 expression
 * (`syntax=fts`).
 */
export type TextFilter =
  | { readonly syntax: 'query'; readonly query: Query }
  | { readonly syntax: 'words'; readonly search: TextSearch }
  | { readonly syntax: 'fts'; readonly expression: string };

/** The API's `q` as a filter: the query language (default), plain words, or FTS5 syntax as typed. */
export function textFilter(q: string, syntax: 'query' | 'words' | 'fts' = 'query'): TextFilter {
  if (syntax === 'fts') return { syntax, expression: q };
  return syntax === 'words' ? { syntax, search: parseSearch(q) } : { syntax, query: parseQuery(q) };
}

export interface RecordFilter {
  /** Parsed patterns, OR'ed; empty means everything. */
  patterns: readonly Pattern[];
  /** Undefined for no text condition. */
  text?: TextFilter | undefined;
  /** Milliseconds since the epoch: since inclusive, until exclusive. */
  since?: number | undefined;
  until?: number | undefined;
  host?: string | undefined;
}

export interface PageQuery extends RecordFilter {
  order: Order;
  limit: number;
  /** Resume strictly after this position (in `order`). */
  after?: Position | undefined;
  /** Only records with seq ≤ head: later pages see the same snapshot as the first. */
  head?: number | undefined;
}

/** A stored record plus where it sits, for cursors and stream event ids. */
export interface PositionedRecord {
  record: StoredRecord;
  ts: number;
  seq: number;
}

export interface Page {
  records: PositionedRecord[];
  /** More records match after the last one returned. */
  more: boolean;
  /** The snapshot this page was read from: the highest seq stored at the time. */
  head: number;
}

export interface StreamBatch {
  records: PositionedRecord[];
  /** The highest seq examined: resume after it (records in between did not match). */
  through: number;
  /** True when the batch hit its limit: call again at once. */
  more: boolean;
  /** The highest seq stored; below `after` means seqs were reused (see StreamHub). */
  head: number;
}

export interface KeyCount {
  routing_key: string;
  facility: string;
  severity: string;
  count: number;
}

export interface StoreFacts {
  /** Bytes of the store on disk. */
  sizeBytes: number;
  oldest: number | null;
  newest: number | null;
  head: number;
}

/** One bucket × severity of the log volume (`/api/logs/volume`); empty pairs are not listed. */
export interface VolumeCount {
  /** The bucket's start, ms since the epoch (a multiple of the step). */
  bucket: number;
  severity: string;
  count: number;
}

/** What `/api/logs/top` counts by: a column, or a key path in fields. */
export type TopBy =
  { readonly column: 'host' | 'app' | 'facility' | 'severity' } | { readonly path: readonly string[] };

export interface TopValues {
  values: { value: string | number | boolean | null; count: number }[];
  /** Distinct values beyond the ones listed, and the records they hold. */
  otherValues: number;
  otherCount: number;
  /** Records matching the filter (those without the field included). */
  total: number;
}

/** Which neighbours `/api/logs/context` shows: the same host and app (default), the same host, or all. */
export type ContextScope = 'stream' | 'host' | 'all';

export interface ContextRecords {
  before: PositionedRecord[];
  record: PositionedRecord;
  after: PositionedRecord[];
}

export interface SyncQueryStore {
  page(query: PageQuery): Page;
  /** Records with seq in (after, head] matching the filter, in seq (insertion) order. */
  streamBatch(filter: RecordFilter, after: number, limit: number): StreamBatch;
  /** How many records with seq in (after, through] match: what a lagging stream skipped. */
  countBetween(filter: RecordFilter, after: number, through: number): number;
  /** The highest seq stored (0 when empty). */
  head(): number;
  countsByKey(since: number, until: number): KeyCount[];
  /** Records per `stepMs` bucket and severity within the filter (whose since and until are set). */
  volume(filter: RecordFilter, stepMs: number): VolumeCount[];
  /** The `limit` most frequent values of `by` among the records the filter selects. */
  top(filter: RecordFilter, by: TopBy, limit: number): TopValues;
  /** The record with this id and its neighbours in (ts, seq) order; null when no record has it. */
  context(id: string, before: number, after: number, scope: ContextScope): ContextRecords | null;
  facts(): StoreFacts;
  close(): void;
}

/** The reads the API makes: each answer a promise, so they run off the ingest thread. */
export type QueryStore = {
  readonly [Method in keyof SyncQueryStore]: (
    ...args: Parameters<SyncQueryStore[Method]>
  ) => Promise<ReturnType<SyncQueryStore[Method]>>;
};

/** The read methods a reader runs (all but close). */
export type ReadMethod = Exclude<keyof SyncQueryStore, 'close'>;

// The store the API opens: the SQLite one (kept importable from here for the API and the tests).
export { openQueryStore, createQueryStore, type QueryStoreOptions } from './sqlite-query-store.js';
export type { PlanOptions } from './page-plans.js';

/**
 * TopValues from a store's groups (value and count, most frequent first, null for records without
 * the value): the first `limit` shown, the rest summed; severities as names.
 */
export function topValuesOf(
  groups: readonly { value: string | number | boolean | null; n: number }[],
  by: TopBy,
  limit: number,
): TopValues {
  const present = groups.filter((g) => g.value !== null);
  const hidden = present.slice(limit);
  return {
    values: present.slice(0, limit).map((g) => ({
      value:
        'column' in by && by.column === 'severity'
          ? (severityFromRank(Number(g.value)) ?? 'notice')
          : g.value,
      count: g.n,
    })),
    otherValues: hidden.length,
    otherCount: hidden.reduce((sum, g) => sum + g.n, 0),
    total: groups.reduce((sum, g) => sum + g.n, 0),
  };
}
