import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  ErrorCodes,
  errorMessage,
  readRoutingKey,
  severityFromRank,
  WarrenError,
  type Severity,
} from '../../protocol/index.js';
import { filterConditions, renderWhere, type Condition } from './conditions.js';
import { ftsErrors, ftsExpression, ftsHitsBetween } from './fts.js';
import { DEFAULT_PLAN, readPage, type PlanContext, type PlanOptions } from './page-plans.js';
import {
  topValuesOf,
  type ContextRecords,
  type KeyCount,
  type TopValues,
  type VolumeCount,
  type Page,
  type PositionedRecord,
  type SyncQueryStore,
  type RecordFilter,
  type StoreFacts,
  type StreamBatch,
} from './query.js';
import { createRoutingKeys } from './routing-keys.js';
import { COLUMNS, toPositioned, type Row } from './rows.js';
import { createStatements } from './statements.js';
import { idFinder } from './message-runs.js';

/**
 * SyncQueryStore on SQLite: its own read-only connection (WAL lets it read while the collector writes),
 * patterns matched in code against the few routing keys, and keyset paging on (ts, seq). Nothing
 * the user typed is ever spliced into SQL: every value is a bound parameter.
 */

export interface QueryStoreOptions {
  /** Page cache of the read connection, MiB (default 64). */
  cacheMb?: number;
  mmapMb?: number;
  /** Plan thresholds, for tests that drive every plan over a small store. */
  plan?: Partial<PlanOptions>;
}

/** Opens the store read-only; the collector owns creating and migrating it. */
/** Records per key and bucket from which volume counts each bucket's range instead of grouping (measured). */
const COUNT_RANGES_FROM = 24;

export function openQueryStore(dbPath: string, options: QueryStoreOptions = {}): SyncQueryStore {
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
): SyncQueryStore {
  const statements = createStatements(db);
  const keys = createRoutingKeys(statements);
  const plans: PlanContext = { statements, keys, options: { ...DEFAULT_PLAN, ...planOptions } };
  const prepare = (sql: string): Database.Statement => statements.prepare(sql);
  const seqOfId = idFinder(db);

  const headNow = (): number =>
    (prepare('SELECT coalesce(max(seq), 0) AS head FROM records').get() as { head: number }).head;
  const positioned = (rows: readonly Row[]): PositionedRecord[] => rows.map((row) => toPositioned(row, keys));

  const page: SyncQueryStore['page'] = (query) =>
    ftsErrors(
      () =>
        db.transaction((): Page => {
          keys.refresh();
          const head = query.head ?? headNow();
          const keyIds = keys.idsFor(query.patterns);
          if (keyIds !== null && keyIds.length === 0) return { records: [], more: false, head };
          const conditions: Condition[] = [{ kind: 'snapshot', head }, ...filterConditions(query)];
          if (query.after !== undefined)
            conditions.push({ kind: 'beyond', order: query.order, position: query.after });
          const rows = readPage(plans, {
            conditions,
            keyIds,
            match: ftsExpression(query.text),
            byHost: query.host !== undefined,
            order: query.order,
            head,
            want: query.limit + 1,
          });
          const more = rows.length > query.limit;
          if (more) rows.length = query.limit;
          return { records: positioned(rows), more, head };
        })(),
      query.text,
    );

  /** The filter's conditions for a seq window; null when its patterns select no key at all. */
  const windowConditions = (filter: RecordFilter, after: number, through: number): Condition[] | null => {
    const keyIds = keys.idsFor(filter.patterns);
    if (keyIds !== null && keyIds.length === 0) return null;
    const conditions: Condition[] = [{ kind: 'seqWindow', after, through }, ...filterConditions(filter)];
    if (keyIds !== null) conditions.push({ kind: 'keys', ids: keyIds });
    return conditions;
  };

  const streamBatch: SyncQueryStore['streamBatch'] = (filter, after, limit) =>
    ftsErrors(
      () =>
        db.transaction((): StreamBatch => {
          keys.refresh();
          const head = headNow();
          if (head <= after) return { records: [], through: after, more: false, head };
          // Examine at most a bounded seq window per call so one call never scans the whole backlog.
          const through = Math.min(head, after + limit * 20);
          const conditions = windowConditions(filter, after, through);
          if (conditions === null) return { records: [], through: head, more: false, head };
          const where = renderWhere(conditions);
          const match = ftsExpression(filter.text);
          // With text, the LIMIT applies after the FTS test, which is done in code from the newest end.
          // NOT INDEXED keeps the seq (rowid) range: the planner would otherwise pick records_key_ts
          // for key_id IN (...) and read every record of those keys to find the few new ones.
          const sql = `SELECT ${COLUMNS} FROM records r NOT INDEXED WHERE ${where.sql} ORDER BY r.seq${match === undefined ? ' LIMIT @limit' : ''}`;
          const params = match === undefined ? { ...where.params, limit: limit + 1 } : where.params;
          let rows = prepare(sql).all(params) as Row[];
          if (match !== undefined && rows.length > 0) {
            const hits = ftsHitsBetween(statements, match, after + 1, through, head);
            rows = rows.filter((row) => hits.has(row.seq));
          }
          if (rows.length > limit) {
            rows.length = limit;
            const last = rows[rows.length - 1];
            return { records: positioned(rows), through: last?.seq ?? after, more: true, head };
          }
          return { records: positioned(rows), through, more: through < head, head };
        })(),
      filter.text,
    );

  const countBetween: SyncQueryStore['countBetween'] = (filter, after, through) =>
    ftsErrors(
      () =>
        db.transaction((): number => {
          keys.refresh();
          const conditions = windowConditions(filter, after, through);
          if (conditions === null) return 0;
          const match = ftsExpression(filter.text);
          if (match !== undefined) conditions.push({ kind: 'textInWindow', match, after, through });
          const where = renderWhere(conditions);
          const sql = `SELECT count(*) AS n FROM records r NOT INDEXED WHERE ${where.sql}`;
          return (prepare(sql).get(where.params) as { n: number }).n;
        })(),
      filter.text,
    );

  const countsByKey: SyncQueryStore['countsByKey'] = (since, until) =>
    db.transaction((): KeyCount[] => {
      keys.refresh();
      const count = prepare(
        'SELECT count(*) AS n FROM records INDEXED BY records_key_ts WHERE key_id = ? AND ts >= ? AND ts < ?',
      );
      const sample = prepare('SELECT facility, severity FROM records WHERE key_id = ? LIMIT 1');
      const out: KeyCount[] = [];
      for (const [id, routingKey] of keys.entries()) {
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

  /** Every condition of a filter, the patterns' keys and required words included (for aggregates). */
  const allConditions = (filter: RecordFilter): Condition[] | null => {
    const keyIds = keys.idsFor(filter.patterns);
    if (keyIds !== null && keyIds.length === 0) return null;
    const conditions = filterConditions(filter);
    if (keyIds !== null) conditions.push({ kind: 'keys', ids: keyIds });
    const match = ftsExpression(filter.text);
    if (match !== undefined) conditions.push({ kind: 'textInWindow', match, after: 0, through: headNow() });
    return conditions;
  };

  // better-sqlite3 binds a JS number as REAL: the step is cast so ts / step floors to its bucket.
  const volume: SyncQueryStore['volume'] = (filter, stepMs) =>
    ftsErrors(
      () =>
        db.transaction((): VolumeCount[] => {
          keys.refresh();
          if (filter.text === undefined && filter.host === undefined && filter.since !== undefined) {
            return volumeByKey(filter, stepMs, filter.since, filter.until ?? Number.MAX_SAFE_INTEGER);
          }
          const conditions = allConditions(filter);
          if (conditions === null) return [];
          const where = renderWhere(conditions);
          const rows = prepare(
            `SELECT (r.ts / CAST(@step AS INTEGER)) * CAST(@step AS INTEGER) AS bucket, r.severity AS severity, count(*) AS n FROM records r WHERE ${where.sql} GROUP BY 1, 2`,
          ).all({ ...where.params, step: stepMs }) as { bucket: number; severity: number; n: number }[];
          return rows.map((row) => ({
            bucket: row.bucket,
            severity: severityFromRank(row.severity) ?? 'notice',
            count: row.n,
          }));
        })(),
      filter.text,
    );

  /**
   * Volume by patterns and time only: per routing key from its (key_id, ts) index alone, no row
   * read, since a readable key fixes the severity of every record under it (CONTRACT §4).
   */
  const volumeByKey = (filter: RecordFilter, stepMs: number, since: number, until: number): VolumeCount[] => {
    const ids = keys.idsFor(filter.patterns) ?? [...keys.entries()].map(([id]) => id);
    const first = Math.floor(since / stepMs) * stepMs;
    // The counting query walks every bucket up to its end: an open range ends after the newest record.
    const end = Math.min(until, headTs(until) + 1);
    const buckets = Math.ceil((end - first) / stepMs);
    // Grouping sorts every index entry (~145 ns each here); counting each bucket's range costs
    // ~40 ns an entry plus ~2.4 µs a seek: it wins from ~24 records per key and bucket (7 d by hour).
    const counted = recordsBetween(since, until) >= COUNT_RANGES_FROM * ids.length * Math.max(1, buckets);
    const byIndex = counted
      ? prepare(
          `WITH RECURSIVE b(start) AS (SELECT @first UNION ALL SELECT start + @step FROM b WHERE start + @step < @until)
           SELECT b.start AS bucket, (SELECT count(*) FROM records INDEXED BY records_key_ts WHERE key_id = @key AND ts >= max(b.start, @since) AND ts < min(b.start + @step, @until)) AS n FROM b`,
        )
      : prepare(
          'SELECT (ts / CAST(@step AS INTEGER)) * CAST(@step AS INTEGER) AS bucket, count(*) AS n FROM records INDEXED BY records_key_ts WHERE key_id = @key AND ts >= @since AND ts < @until GROUP BY 1',
        );
    const byRow = prepare(
      'SELECT (ts / CAST(@step AS INTEGER)) * CAST(@step AS INTEGER) AS bucket, severity, count(*) AS n FROM records INDEXED BY records_key_ts WHERE key_id = @key AND ts >= @since AND ts < @until GROUP BY 1, 2',
    );
    // Keys of one severity share their buckets: one pair each leaves the reader, not one per key.
    const out = new Map<string, VolumeCount>();
    const add = (bucket: number, severity: Severity, count: number): void => {
      const pair = out.get(`${bucket} ${severity}`);
      if (pair !== undefined) pair.count += count;
      else out.set(`${bucket} ${severity}`, { bucket, severity, count });
    };
    for (const key of ids) {
      const params = { key, since, until, step: stepMs };
      const severity = readRoutingKey(keys.name(key)).severity;
      if (severity !== undefined) {
        for (const row of byIndex.all(counted ? { ...params, until: end, first } : params) as {
          bucket: number;
          n: number;
        }[])
          if (row.n > 0) add(row.bucket, severity, row.n);
      } else {
        // A foreign key the collector could not read: each record says its own severity.
        for (const row of byRow.all(params) as { bucket: number; severity: number; n: number }[])
          add(row.bucket, severityFromRank(row.severity) ?? 'notice', row.n);
      }
    }
    return [...out.values()];
  };

  /** About how many records fall in [since, until): the seq span of the time index's ends (seq rises with ingest). */
  const recordsBetween = (since: number, until: number): number => {
    const row = prepare(
      `SELECT (SELECT seq FROM records INDEXED BY records_ts WHERE ts < @until ORDER BY ts DESC, seq DESC LIMIT 1)
            - (SELECT seq FROM records INDEXED BY records_ts WHERE ts >= @since ORDER BY ts, seq LIMIT 1) AS n`,
    ).get({ since, until }) as { n: number | null };
    return row.n ?? 0;
  };

  /** The newest record's time before `until` (0 when none). */
  const headTs = (until: number): number => {
    const row = prepare(
      'SELECT ts FROM records INDEXED BY records_ts WHERE ts < @until ORDER BY ts DESC, seq DESC LIMIT 1',
    ).get({ until }) as { ts: number } | undefined;
    return row?.ts ?? 0;
  };

  const top: SyncQueryStore['top'] = (filter, by, limit) =>
    ftsErrors(
      () =>
        db.transaction((): TopValues => {
          keys.refresh();
          const conditions = allConditions(filter);
          if (conditions === null) return { values: [], otherValues: 0, otherCount: 0, total: 0 };
          const where = renderWhere(conditions);
          const params: Record<string, string | number> = { ...where.params };
          let value: string;
          if ('column' in by) {
            value = `r.${by.column}`;
          } else {
            params.topPath = `$${by.path.map((key) => `."${key}"`).join('')}`;
            // Objects and arrays are not values to count.
            value = `CASE WHEN json_type(r.fields, @topPath) IN ('object', 'array') THEN NULL ELSE json_extract(r.fields, @topPath) END`;
          }
          const groups = prepare(
            `SELECT ${value} AS value, count(*) AS n FROM records r WHERE ${where.sql} GROUP BY 1 ORDER BY n DESC, value ASC`,
          ).all(params) as { value: string | number | null; n: number }[];
          return topValuesOf(groups, by, limit);
        })(),
      filter.text,
    );

  const context: SyncQueryStore['context'] = (id, before, after, scope) =>
    db.transaction((): ContextRecords | null => {
      keys.refresh();
      const seq = seqOfId(id);
      if (seq === null) return null;
      const target = prepare(`SELECT ${COLUMNS} FROM records r WHERE r.seq = @seq`).get({ seq }) as
        Row | undefined;
      if (target === undefined) return null;
      const same: string[] = [];
      const params: Record<string, string | number | null> = { ts: target.ts, seq: target.seq };
      if (scope !== 'all') {
        same.push('r.host IS @host');
        params.host = target.host;
      }
      if (scope === 'stream') {
        same.push('r.app IS @app');
        params.app = target.app;
      }
      const scoped = same.length === 0 ? '' : `AND ${same.join(' AND ')}`;
      const earlier = prepare(
        `SELECT ${COLUMNS} FROM records r WHERE (r.ts, r.seq) < (@ts, @seq) ${scoped} ORDER BY r.ts DESC, r.seq DESC LIMIT @limit`,
      ).all({ ...params, limit: before }) as Row[];
      const later = prepare(
        `SELECT ${COLUMNS} FROM records r WHERE (r.ts, r.seq) > (@ts, @seq) ${scoped} ORDER BY r.ts ASC, r.seq ASC LIMIT @limit`,
      ).all({ ...params, limit: after }) as Row[];
      return {
        before: positioned(earlier.reverse()),
        record: positioned([target])[0]!,
        after: positioned(later),
      };
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
    volume,
    top,
    context,
    facts,
    close: () => db.close(),
  };
}
