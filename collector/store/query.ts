import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  compileMatcher,
  ErrorCodes,
  errorMessage,
  readRoutingKey,
  severityFromRank,
  WarrenError,
  type Pattern,
  type StoredRecord,
} from '../../protocol/index.js';

/**
 * The store's read path, for the HTTP API: its own read-only connection (WAL lets it read while the
 * collector writes), patterns matched in code against the few routing keys, and keyset paging on
 * (ts, seq). Nothing the user typed is ever spliced into SQL: every value is a bound parameter.
 */

export type Order = 'asc' | 'desc';

/** A place in the (ts, seq) order of records; paging resumes strictly after it. */
export interface Position {
  ts: number;
  seq: number;
}

export interface RecordFilter {
  /** Parsed patterns, OR'ed; empty means everything. */
  patterns: readonly Pattern[];
  /** An FTS5 expression (see toFtsQuery); undefined for none. */
  match?: string | undefined;
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
  /** Bytes of the database file plus its WAL. */
  sizeBytes: number;
  oldest: number | null;
  newest: number | null;
  head: number;
}

interface Row {
  seq: number;
  id: string | null;
  ts: number;
  key_id: number;
  facility: string;
  severity: number;
  host: string | null;
  app: string | null;
  pid: number | null;
  msg: string;
  fields: string | null;
}

type Params = Record<string, string | number>;

/** One keyset read of a page in (ts, seq) order without the FTS index driving it. */
interface ScanRequest {
  /** The key_ids the patterns select, or null for every key (no key condition). */
  readonly keyIds: readonly number[] | null;
  /** Fixed-text WHERE fragments, including the keyset bound when resuming; values are in `params`. */
  readonly where: readonly string[];
  readonly params: Readonly<Params>;
  readonly query: PageQuery;
  /** The keyset comparison for `query.order`: '>' ascending, '<' descending. */
  readonly cmp: string;
  readonly orderBy: string;
  /** Read at most this many rows. */
  readonly want: number;
}

const COLUMNS = 'r.seq, r.id, r.ts, r.key_id, r.facility, r.severity, r.host, r.app, r.pid, r.msg, r.fields';

/** Below this many full-text hits the search drives from the FTS index; above it, from the time index. */
const FTS_DRIVE_LIMIT = 10_000;
/** Largest chunk of candidates read at once when filtering a common word by seq range. */
const FTS_SCAN_MAX_CHUNK = 16_384;

/** Per-key merging wins when a pattern selects few keys: each key's index is already in time order. */
const MERGE_MAX_KEYS = 64;
const MERGE_MAX_FRACTION = 0.1;

export interface QueryStoreOptions {
  /** Page cache of the read connection, MiB (default 64). */
  cacheMb?: number;
  mmapMb?: number;
  /** Plan thresholds, for tests that drive every plan over a small store. */
  plan?: Partial<PlanOptions>;
}

export interface PlanOptions {
  ftsDriveLimit: number;
  mergeMaxKeys: number;
  mergeMaxFraction: number;
  /** First chunk of candidates when filtering a common word (then doubling). */
  ftsScanMinChunk: number;
}

const DEFAULT_PLAN: PlanOptions = {
  ftsDriveLimit: FTS_DRIVE_LIMIT,
  mergeMaxKeys: MERGE_MAX_KEYS,
  mergeMaxFraction: MERGE_MAX_FRACTION,
  ftsScanMinChunk: 256,
};

export interface QueryStore {
  page(query: PageQuery): Page;
  /** Records with seq in (after, head] matching the filter, in seq (insertion) order. */
  streamBatch(filter: RecordFilter, after: number, limit: number): StreamBatch;
  /** How many records with seq in (after, through] match: what a lagging stream skipped. */
  countBetween(filter: RecordFilter, after: number, through: number): number;
  /** The highest seq stored (0 when empty). */
  head(): number;
  countsByKey(since: number, until: number): KeyCount[];
  facts(): StoreFacts;
  close(): void;
}

/** Opens the store read-only; the collector owns creating and migrating it. */
export function openQueryStore(dbPath: string, options: QueryStoreOptions = {}): QueryStore {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma(`cache_size = ${-1024 * (options.cacheMb ?? 64)}`);
    db.pragma(`mmap_size = ${1024 * 1024 * (options.mmapMb ?? 256)}`);
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot read the store ${dbPath}: ${errorMessage(err)}`,
      {
        cause: err,
        hint: 'start logcollect with --db pointing at a Warren store it can create or read',
      },
    );
  }
  return createQueryStore(db, dbPath, options.plan);
}

export function createQueryStore(
  db: Database.Database,
  dbPath: string,
  planOptions: Partial<PlanOptions> = {},
): QueryStore {
  const plan: PlanOptions = { ...DEFAULT_PLAN, ...planOptions };
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      statements.set(sql, stmt);
    }
    return stmt;
  };

  // Routing keys only ever get added, with growing key_ids: read the new ones incrementally.
  const keys = new Map<number, string>();
  let maxKeyId = 0;
  let keysVersion = 0;
  const refreshKeys = (): void => {
    const rows = prepare('SELECT key_id, routing_key FROM routing_keys WHERE key_id > ? ORDER BY key_id').all(
      maxKeyId,
    ) as { key_id: number; routing_key: string }[];
    if (rows.length === 0) return;
    for (const row of rows) {
      keys.set(row.key_id, row.routing_key);
      maxKeyId = Math.max(maxKeyId, row.key_id);
    }
    keysVersion++;
  };

  const matchCache = new WeakMap<readonly Pattern[], { version: number; ids: number[] | null }>();
  /** The key_ids a filter selects, or null for all of them (no key condition needed). */
  const keyIdsFor = (patterns: readonly Pattern[]): number[] | null => {
    if (patterns.length === 0) return null;
    const cached = matchCache.get(patterns);
    if (cached !== undefined && cached.version === keysVersion) return cached.ids;
    const matches = compileMatcher(patterns);
    const ids: number[] = [];
    for (const [id, key] of keys) if (matches(key)) ids.push(id);
    const result = ids.length === keys.size && patterns.some((p) => p.bindings.includes('#')) ? null : ids;
    matchCache.set(patterns, { version: keysVersion, ids: result });
    return result;
  };

  const headNow = (): number =>
    (prepare('SELECT coalesce(max(seq), 0) AS head FROM records').get() as { head: number }).head;

  const toPositioned = (row: Row): PositionedRecord => {
    let routingKey = keys.get(row.key_id);
    if (routingKey === undefined) {
      refreshKeys();
      routingKey = keys.get(row.key_id) ?? '';
    }
    const record: StoredRecord = {
      id: row.id,
      ts: new Date(row.ts).toISOString(),
      facility: row.facility,
      severity: severityFromRank(row.severity) ?? 'notice',
      msg: row.msg,
      routing_key: routingKey,
    };
    if (row.host !== null) record.host = row.host;
    if (row.app !== null) record.app = row.app;
    if (row.pid !== null) record.pid = row.pid;
    if (row.fields !== null) {
      const fields = parseFields(row.fields);
      if (fields !== undefined) record.fields = fields;
    }
    return { record, ts: row.ts, seq: row.seq };
  };

  /** WHERE fragments shared by every query; each is fixed text, the values are bound. */
  const filterConditions = (filter: RecordFilter, params: Params): string[] => {
    const where: string[] = [];
    if (filter.since !== undefined) {
      where.push('r.ts >= @since');
      params.since = filter.since;
    }
    if (filter.until !== undefined) {
      where.push('r.ts < @until');
      params.until = filter.until;
    }
    if (filter.host !== undefined) {
      where.push('r.host = @host');
      params.host = filter.host;
    }
    return where;
  };

  const countFtsHits = (match: string, head: number): number =>
    (
      prepare(
        'SELECT count(*) AS n FROM (SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid <= @head LIMIT @cap)',
      ).get({ match, head, cap: plan.ftsDriveLimit }) as { n: number }
    ).n;

  const page = (query: PageQuery): Page =>
    ftsErrors(
      () =>
        db.transaction((): Page => {
          refreshKeys();
          const head = query.head ?? headNow();
          const keyIds = keyIdsFor(query.patterns);
          if (keyIds !== null && keyIds.length === 0) return { records: [], more: false, head };

          const desc = query.order === 'desc';
          const cmp = desc ? '<' : '>';
          const dir = desc ? 'DESC' : 'ASC';
          const params: Params = { head, limit: query.limit + 1 };
          const where = ['r.seq <= @head', ...filterConditions(query, params)];
          if (query.after !== undefined) {
            where.push(`(r.ts, r.seq) ${cmp} (@ats, @aseq)`);
            params.ats = query.after.ts;
            params.aseq = query.after.seq;
          }
          const orderBy = `ORDER BY r.ts ${dir}, r.seq ${dir}`;

          let rows: Row[];
          if (query.match !== undefined && countFtsHits(query.match, head) < plan.ftsDriveLimit) {
            // Few hits: walk the FTS doclist and sort the handful of rows it names.
            params.match = query.match;
            if (keyIds !== null) {
              where.push('r.key_id IN (SELECT value FROM json_each(@keys))');
              params.keys = JSON.stringify(keyIds);
            }
            const sql = `SELECT ${COLUMNS} FROM records_fts CROSS JOIN records r ON r.seq = records_fts.rowid
              WHERE records_fts MATCH @match AND records_fts.rowid <= @head AND ${where.join(' AND ')} ${orderBy} LIMIT @limit`;
            rows = prepare(sql).all(params) as Row[];
          } else {
            const request: ScanRequest = {
              keyIds,
              where,
              params,
              query,
              cmp,
              orderBy,
              want: query.limit + 1,
            };
            rows = query.match === undefined ? scan(request) : scanWithText(request, query.match, head);
          }
          const more = rows.length > query.limit;
          if (more) rows.length = query.limit;
          return { records: rows.map(toPositioned), more, head };
        })(),
      query.match,
    );

  /**
   * The FTS hits with rowid in [lo, hi]. FTS5 walks a doclist from one end and does not seek to a
   * rowid bound, so read from the nearer end and stop at the far bound.
   */
  const ftsHitsBetween = (match: string, lo: number, hi: number, head: number): Set<number> => {
    const hits = new Set<number>();
    if (head - hi <= lo) {
      const rowids = prepare(
        'SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid <= @hi ORDER BY rowid DESC',
      ).pluck();
      for (const rowid of rowids.iterate({ match, hi }) as IterableIterator<number>) {
        if (rowid < lo) break;
        hits.add(rowid);
      }
    } else {
      const rowids = prepare(
        'SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid >= @lo ORDER BY rowid ASC',
      ).pluck();
      for (const rowid of rowids.iterate({ match, lo }) as IterableIterator<number>) {
        if (rowid > hi) break;
        hits.add(rowid);
      }
    }
    return hits;
  };

  /** Rows in (ts, seq) order without a text condition: per-key merge for few keys, else one index. */
  const scan = (request: ScanRequest): Row[] => {
    const { keyIds, query } = request;
    const merge =
      keyIds !== null &&
      query.host === undefined &&
      (keyIds.length <= plan.mergeMaxKeys || keyIds.length < keys.size * plan.mergeMaxFraction);
    if (merge) return mergeByKey({ ...request, keyIds });
    const conditions = [...request.where];
    const bound: Params = { ...request.params, limit: request.want };
    if (keyIds !== null) {
      conditions.push('r.key_id IN (SELECT value FROM json_each(@keys))');
      bound.keys = JSON.stringify(keyIds);
    }
    const index = query.host !== undefined ? 'records_host_ts' : 'records_ts';
    const sql = `SELECT ${COLUMNS} FROM records r INDEXED BY ${index} WHERE ${conditions.join(' AND ')} ${request.orderBy} LIMIT @limit`;
    return prepare(sql).all(bound) as Row[];
  };

  /**
   * A common word: read candidates in order in growing chunks, and keep those the FTS index holds
   * within the chunk's seq range (one range read per chunk, not one FTS lookup per row).
   */
  const scanWithText = (request: ScanRequest, match: string, head: number): Row[] => {
    const { want, params } = request;
    const base = request.where.filter((w) => !w.startsWith('(r.ts, r.seq)'));
    const out: Row[] = [];
    let after = request.query.after;
    let chunk = Math.min(FTS_SCAN_MAX_CHUNK, Math.max(plan.ftsScanMinChunk, want * 4));
    for (;;) {
      const where = after === undefined ? base : [...base, `(r.ts, r.seq) ${request.cmp} (@ats, @aseq)`];
      const bound = after === undefined ? params : { ...params, ats: after.ts, aseq: after.seq };
      const rows = scan({ ...request, where, params: bound, want: chunk });
      if (rows.length === 0) break;
      let lo = Infinity;
      let hi = -Infinity;
      for (const row of rows) {
        lo = Math.min(lo, row.seq);
        hi = Math.max(hi, row.seq);
      }
      const hits = ftsHitsBetween(match, lo, hi, head);
      for (const row of rows) {
        if (!hits.has(row.seq)) continue;
        out.push(row);
        if (out.length === want) return out;
      }
      if (rows.length < chunk) break;
      const last = rows[rows.length - 1];
      if (last === undefined) break;
      after = { ts: last.ts, seq: last.seq };
      chunk = Math.min(FTS_SCAN_MAX_CHUNK, chunk * 2);
    }
    return out;
  };

  /**
   * A k-way merge of one index range per routing key (records_key_ts is in (ts, seq) order within
   * a key), fetching each key in growing chunks so it reads about `want` rows, not keys × want.
   */
  const mergeByKey = (request: ScanRequest & { readonly keyIds: readonly number[] }): Row[] => {
    const { keyIds, where, params, cmp, orderBy, want } = request;
    const sqlFirst = `SELECT ${COLUMNS} FROM records r INDEXED BY records_key_ts WHERE r.key_id = @key AND ${where.join(' AND ')} ${orderBy} LIMIT @chunk`;
    const sqlNext = `SELECT ${COLUMNS} FROM records r INDEXED BY records_key_ts WHERE r.key_id = @key AND ${[
      ...where.filter((w) => !w.startsWith('(r.ts, r.seq)')),
      `(r.ts, r.seq) ${cmp} (@kts, @kseq)`,
    ].join(' AND ')} ${orderBy} LIMIT @chunk`;
    const first = prepare(sqlFirst);
    const next = prepare(sqlNext);
    const desc = request.query.order === 'desc';
    const before = (a: Row, b: Row): boolean =>
      desc
        ? a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq)
        : a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);

    interface Source {
      key: number;
      rows: Row[];
      i: number;
      done: boolean;
      chunk: number;
    }
    const fill = (src: Source): void => {
      const last = src.rows[src.rows.length - 1];
      const rows = (
        last === undefined
          ? first.all({ ...params, key: src.key, chunk: src.chunk })
          : next.all({ ...params, key: src.key, chunk: src.chunk, kts: last.ts, kseq: last.seq })
      ) as Row[];
      src.done = rows.length < src.chunk;
      src.rows = rows;
      src.i = 0;
      src.chunk = Math.min(want, src.chunk * 4);
    };
    const initial = Math.min(want, Math.max(16, Math.ceil((2 * want) / keyIds.length)));
    const sources: Source[] = keyIds.map((key) => ({ key, rows: [], i: 0, done: false, chunk: initial }));
    for (const src of sources) fill(src);

    const out: Row[] = [];
    while (out.length < want) {
      let best: Source | undefined;
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
  };

  const streamConditions = (filter: RecordFilter, params: Params, withText: boolean): string[] => {
    const where = filterConditions(filter, params);
    const keyIds = keyIdsFor(filter.patterns);
    if (keyIds !== null) {
      where.push('r.key_id IN (SELECT value FROM json_each(@keys))');
      params.keys = JSON.stringify(keyIds);
    }
    if (withText && filter.match !== undefined) {
      where.push(
        'r.seq IN (SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid > @after AND rowid <= @through)',
      );
      params.match = filter.match;
    }
    return where;
  };

  const streamBatch = (filter: RecordFilter, after: number, limit: number): StreamBatch =>
    ftsErrors(
      () =>
        db.transaction((): StreamBatch => {
          refreshKeys();
          const head = headNow();
          if (head <= after) return { records: [], through: after, more: false, head };
          const keyIds = keyIdsFor(filter.patterns);
          if (keyIds !== null && keyIds.length === 0)
            return { records: [], through: head, more: false, head };
          // Examine at most a bounded seq window per call so one call never scans the whole backlog.
          const through = Math.min(head, after + limit * 20);
          const params: Params = { after, through, limit: limit + 1 };
          const where = ['r.seq > @after', 'r.seq <= @through', ...streamConditions(filter, params, false)];
          const text = filter.match;
          // With text, the LIMIT applies after the FTS test, which is done in code from the newest end.
          // NOT INDEXED keeps the seq (rowid) range: the planner would otherwise pick records_key_ts
          // for key_id IN (...) and read every record of those keys to find the few new ones.
          const sql = `SELECT ${COLUMNS} FROM records r NOT INDEXED WHERE ${where.join(' AND ')} ORDER BY r.seq${text === undefined ? ' LIMIT @limit' : ''}`;
          let rows = prepare(sql).all(params) as Row[];
          if (text !== undefined && rows.length > 0) {
            const hits = ftsHitsBetween(text, after + 1, through, head);
            rows = rows.filter((row) => hits.has(row.seq));
          }
          if (rows.length > limit) {
            rows.length = limit;
            const last = rows[rows.length - 1];
            return { records: rows.map(toPositioned), through: last?.seq ?? after, more: true, head };
          }
          return { records: rows.map(toPositioned), through, more: through < head, head };
        })(),
      filter.match,
    );

  const countBetween = (filter: RecordFilter, after: number, through: number): number =>
    ftsErrors(
      () =>
        db.transaction((): number => {
          refreshKeys();
          const keyIds = keyIdsFor(filter.patterns);
          if (keyIds !== null && keyIds.length === 0) return 0;
          const params: Params = { after, through };
          const where = ['r.seq > @after', 'r.seq <= @through', ...streamConditions(filter, params, true)];
          const sql = `SELECT count(*) AS n FROM records r NOT INDEXED WHERE ${where.join(' AND ')}`;
          return (prepare(sql).get(params) as { n: number }).n;
        })(),
      filter.match,
    );

  const countsByKey = (since: number, until: number): KeyCount[] =>
    db.transaction((): KeyCount[] => {
      refreshKeys();
      const count = prepare(
        'SELECT count(*) AS n FROM records INDEXED BY records_key_ts WHERE key_id = ? AND ts >= ? AND ts < ?',
      );
      const sample = prepare('SELECT facility, severity FROM records WHERE key_id = ? LIMIT 1');
      const out: KeyCount[] = [];
      for (const [id, routingKey] of keys) {
        const n = (count.get(id, since, until) as { n: number }).n;
        if (n === 0) continue;
        let { facility, severity } = readRoutingKey(routingKey);
        if (facility === undefined || severity === undefined) {
          // A foreign key the collector could not read: report what it stored for it.
          const row = sample.get(id) as { facility: string; severity: number } | undefined;
          facility ??= row?.facility ?? 'unknown';
          severity ??= severityFromRank(row?.severity ?? -1) ?? 'notice';
        }
        out.push({ routing_key: routingKey, facility, severity, count: n });
      }
      return out;
    })();

  const facts = (): StoreFacts => {
    // Two queries: SQLite answers a lone min() or max() from the index, but not both at once.
    const oldest = prepare('SELECT min(ts) FROM records').pluck().get() as number | null;
    const newest = prepare('SELECT max(ts) FROM records').pluck().get() as number | null;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    let wal = 0;
    try {
      wal = statSync(`${dbPath}-wal`).size;
    } catch {
      // no WAL file right now (checkpointed and removed): nothing to add
    }
    return { sizeBytes: pages * pageSize + wal, oldest, newest, head: headNow() };
  };

  return {
    page,
    streamBatch,
    countBetween,
    head: headNow,
    countsByKey,
    facts,
    close: () => db.close(),
  };
}

function parseFields(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  } catch {
    return undefined;
  }
}

/** FTS5 reports a malformed expression as a plain SQLite error: make it the user's 400, not our 500. */
function ftsErrors<T>(run: () => T, match: string | undefined): T {
  try {
    return run();
  } catch (err) {
    if (
      match !== undefined &&
      err instanceof Error &&
      /fts5|syntax error|no such column|unknown special query|unterminated/i.test(err.message)
    ) {
      throw new WarrenError(ErrorCodes.BAD_QUERY, `invalid full-text query '${match}': ${err.message}`, {
        hint: 'plain words match records containing all of them; word* matches a prefix; with syntax=fts use FTS5 syntax (AND, OR, NOT, parentheses)',
        context: { q: match },
      });
    }
    throw err;
  }
}

/**
 * Plain words → an FTS5 query: each word quoted (so `disk-failure`, `AND` or `"` are just text),
 * all required; a trailing `*` keeps prefix matching. Words are split as the unicode61 tokenizer
 * splits them, since with detail=none a quoted multi-token phrase is not supported.
 */
export function toFtsQuery(text: string): string {
  const terms: string[] = [];
  for (const raw of text.split(/\s+/)) {
    const prefix = raw.endsWith('*');
    const tokens = raw.split(/[^\p{L}\p{N}\p{M}]+/u).filter((t) => t !== '');
    tokens.forEach((token, i) => {
      terms.push(`"${token}"${prefix && i === tokens.length - 1 ? '*' : ''}`);
    });
  }
  if (terms.length === 0) {
    throw new WarrenError(ErrorCodes.BAD_QUERY, `full-text query '${text}' has no words to search for`, {
      hint: 'q matches words (letters and digits); punctuation alone matches nothing',
      context: { q: text },
    });
  }
  return terms.join(' ');
}
