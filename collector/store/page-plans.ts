import { orderBy, renderWhere, withBound, type Condition } from './conditions.js';
import { countFtsHits, ftsHitsBetween } from './fts.js';
import type { Order, Position } from './query.js';
import type { RoutingKeys } from './routing-keys.js';
import { COLUMNS, type Row } from './rows.js';
import type { Statements } from './statements.js';

/**
 * The SQLite store's four ways to read a page in (ts, seq) order, and the choice between them:
 * - text with few hits: walk the FTS doclist and sort the handful of rows it names;
 * - text with many hits: read candidates in order in chunks, keep those the FTS index holds;
 * - few routing keys: a k-way merge of one index range per key;
 * - otherwise: one index (by time, or by host and time) with the key condition as a filter.
 */

export interface PlanOptions {
  /** Below this many full-text hits the search drives from the FTS index; above it, from the time index. */
  ftsDriveLimit: number;
  /** Per-key merging wins when a pattern selects few keys: each key's index is already in time order. */
  mergeMaxKeys: number;
  mergeMaxFraction: number;
  /** First chunk of candidates when filtering a common word (then doubling). */
  ftsScanMinChunk: number;
}

export const DEFAULT_PLAN: PlanOptions = {
  ftsDriveLimit: 10_000,
  mergeMaxKeys: 64,
  mergeMaxFraction: 0.1,
  ftsScanMinChunk: 256,
};

/** Largest chunk of candidates read at once when filtering a common word by seq range. */
const FTS_SCAN_MAX_CHUNK = 16_384;

export interface PlanContext {
  readonly statements: Statements;
  readonly keys: RoutingKeys;
  readonly options: PlanOptions;
}

/** One page to read: every row matching `conditions` and `keyIds` (and `match`), in `order`. */
export interface PageRead {
  /** Snapshot, time window, host and the keyset bound when resuming. */
  readonly conditions: readonly Condition[];
  /** The key_ids the patterns select, or null for every key (no key condition). */
  readonly keyIds: readonly number[] | null;
  /** An FTS5 expression, or undefined for no text condition. */
  readonly match: string | undefined;
  readonly byHost: boolean;
  readonly order: Order;
  readonly head: number;
  /** Read at most this many rows. */
  readonly want: number;
}

/** Chooses the plan for a page and reads it. */
export function readPage(ctx: PlanContext, read: PageRead): Row[] {
  const { match } = read;
  if (match === undefined) return scan(ctx, read);
  if (countFtsHits(ctx.statements, match, read.head, ctx.options.ftsDriveLimit) < ctx.options.ftsDriveLimit)
    return ftsDriven(ctx, read, match);
  return scanWithText(ctx, read, match);
}

function withKeys(read: PageRead): Condition[] {
  return read.keyIds === null
    ? [...read.conditions]
    : [...read.conditions, { kind: 'keys', ids: read.keyIds }];
}

/** Few hits: walk the FTS doclist and sort the handful of rows it names. */
function ftsDriven(ctx: PlanContext, read: PageRead, match: string): Row[] {
  const where = renderWhere(withKeys(read));
  const sql = `SELECT ${COLUMNS} FROM records_fts CROSS JOIN records r ON r.seq = records_fts.rowid
    WHERE records_fts MATCH @match AND records_fts.rowid <= @head AND ${where.sql} ${orderBy(read.order)} LIMIT @limit`;
  return ctx.statements
    .prepare(sql)
    .all({ ...where.params, match, head: read.head, limit: read.want }) as Row[];
}

/** Rows in (ts, seq) order without a text condition: per-key merge for few keys, else one index. */
function scan(ctx: PlanContext, read: PageRead): Row[] {
  const { keyIds } = read;
  const { mergeMaxKeys, mergeMaxFraction } = ctx.options;
  if (
    keyIds !== null &&
    !read.byHost &&
    (keyIds.length <= mergeMaxKeys || keyIds.length < ctx.keys.size * mergeMaxFraction)
  )
    return mergeByKey(ctx, read, keyIds);
  const where = renderWhere(withKeys(read));
  const index = read.byHost ? 'records_host_ts' : 'records_ts';
  const sql = `SELECT ${COLUMNS} FROM records r INDEXED BY ${index} WHERE ${where.sql} ${orderBy(read.order)} LIMIT @limit`;
  return ctx.statements.prepare(sql).all({ ...where.params, limit: read.want }) as Row[];
}

/**
 * A common word: read candidates in order in growing chunks, and keep those the FTS index holds
 * within the chunk's seq range (one range read per chunk, not one FTS lookup per row).
 */
function scanWithText(ctx: PlanContext, read: PageRead, match: string): Row[] {
  const { want } = read;
  const out: Row[] = [];
  let chunk = Math.min(FTS_SCAN_MAX_CHUNK, Math.max(ctx.options.ftsScanMinChunk, want * 4));
  let conditions = read.conditions;
  for (;;) {
    const rows = scan(ctx, { ...read, conditions, want: chunk });
    if (rows.length === 0) break;
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of rows) {
      lo = Math.min(lo, row.seq);
      hi = Math.max(hi, row.seq);
    }
    const hits = ftsHitsBetween(ctx.statements, match, lo, hi, read.head);
    for (const row of rows) {
      if (!hits.has(row.seq)) continue;
      out.push(row);
      if (out.length === want) return out;
    }
    if (rows.length < chunk) break;
    const last = rows[rows.length - 1];
    if (last === undefined) break;
    conditions = withBound(read.conditions, read.order, { ts: last.ts, seq: last.seq });
    chunk = Math.min(FTS_SCAN_MAX_CHUNK, chunk * 2);
  }
  return out;
}

interface MergeSource {
  key: number;
  rows: Row[];
  i: number;
  done: boolean;
  chunk: number;
}

/**
 * A k-way merge of one index range per routing key (records_key_ts is in (ts, seq) order within
 * a key), fetching each key in growing chunks so it reads about `want` rows, not keys × want.
 */
function mergeByKey(ctx: PlanContext, read: PageRead, keyIds: readonly number[]): Row[] {
  const { want, order } = read;
  const desc = order === 'desc';
  const before = (a: Row, b: Row): boolean =>
    desc ? a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq) : a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);

  const fill = (src: MergeSource): void => {
    const last = src.rows[src.rows.length - 1];
    // The first read keeps the page's own bound; later ones resume after this key's last row.
    const resume: Position | undefined = last === undefined ? undefined : { ts: last.ts, seq: last.seq };
    const bounded = resume === undefined ? read.conditions : withBound(read.conditions, order, resume);
    const where = renderWhere([{ kind: 'key', id: src.key }, ...bounded]);
    const sql = `SELECT ${COLUMNS} FROM records r INDEXED BY records_key_ts WHERE ${where.sql} ${orderBy(order)} LIMIT @chunk`;
    const rows = ctx.statements.prepare(sql).all({ ...where.params, chunk: src.chunk }) as Row[];
    src.done = rows.length < src.chunk;
    src.rows = rows;
    src.i = 0;
    src.chunk = Math.min(want, src.chunk * 4);
  };
  const initial = Math.min(want, Math.max(16, Math.ceil((2 * want) / keyIds.length)));
  const sources: MergeSource[] = keyIds.map((key) => ({ key, rows: [], i: 0, done: false, chunk: initial }));
  for (const src of sources) fill(src);

  const out: Row[] = [];
  while (out.length < want) {
    let best: MergeSource | undefined;
    let bestRow: Row | undefined;
    for (const src of sources) {
      if (src.i >= src.rows.length) {
        if (src.done) continue;
        fill(src);
        if (src.rows.length === 0) continue;
      }
      const row = src.rows[src.i];
      if (row !== undefined && (bestRow === undefined || before(row, bestRow))) {
        best = src;
        bestRow = row;
      }
    }
    if (best === undefined || bestRow === undefined) break;
    out.push(bestRow);
    best.i++;
    // Keep the last row of an exhausted buffer so the next fill resumes after it.
    if (best.i >= best.rows.length && !best.done) {
      best.rows = [bestRow];
      best.i = 1;
    }
  }
  return out;
}
