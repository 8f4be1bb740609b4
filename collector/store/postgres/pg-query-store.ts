import type { Logger } from 'pino';
import { ErrorCodes, WarrenError, readRoutingKey, severityFromRank } from '../../../protocol/index.js';
import {
  topValuesOf,
  type ContextRecords,
  type KeyCount,
  type Page,
  type PositionedRecord,
  type QueryStore,
  type RecordFilter,
  type StoreFacts,
  type StreamBatch,
  type TopValues,
  type VolumeCount,
} from '../query.js';
import { createKeyCache, type KeyRow } from '../routing-keys.js';
import { toPositioned, type Row } from '../rows.js';
import { checkPg, openPgPool } from './pool.js';
import { beyond, filterWhere, orderBy, Params, PG_COLUMNS, where } from './sql.js';

export interface PgQueryStoreOptions {
  /** Connections for the API's reads. */
  readonly connections: number;
  /** A query running longer is cancelled and answered 504 (ms). */
  readonly timeoutMs: number;
}

/** Below this many matches a text query reads its matches first and sorts them (as SQLite's plans do). */
const FEW_HITS = 10_000;

/** PostgreSQL's "canceling statement due to statement timeout". */
const QUERY_CANCELED = '57014';

/**
 * QueryStore on PostgreSQL: the API's reads, answered by the database's own planner over the
 * day partitions and their indexes (no reader processes: the work is in PostgreSQL). Reads see
 * only up to the safe head (schema.ts): every seq at or below it is committed, whichever
 * collector wrote it, so pages and the live stream never skip a row committed late.
 */
export async function openPgQueryStore(
  url: string,
  options: PgQueryStoreOptions,
  logger: Logger,
): Promise<QueryStore> {
  const pool = openPgPool(
    url,
    { max: options.connections, applicationName: 'logcollect API', statementTimeoutMs: options.timeoutMs },
    logger,
  );
  await checkPg(pool, url);
  const keys = createKeyCache();

  /** Runs a read, turning PostgreSQL's timeout into the API's 504 and a lost database into 503. */
  const read = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof WarrenError) throw err;
      const code = (err as { code?: unknown }).code;
      if (code === QUERY_CANCELED) {
        throw new WarrenError(
          ErrorCodes.QUERY_TIMEOUT,
          `the query ran longer than ${options.timeoutMs} ms and was stopped`,
          {
            hint: 'narrow it: a shorter time range (since/until), a pattern, or rarer words',
          },
        );
      }
      if (typeof code !== 'string' || /^(08|57P)/.test(code) || (err as Error).message.includes('connect')) {
        throw new WarrenError(
          ErrorCodes.STORE_UNAVAILABLE,
          `the PostgreSQL store cannot answer: ${(err as Error).message}`,
          {
            cause: err,
            hint: 'is PostgreSQL running? the collector keeps trying; retry shortly',
          },
        );
      }
      throw err;
    }
  };

  const refreshKeys = async (): Promise<void> => {
    const rows = await pool.query<KeyRow>(
      'SELECT key_id, routing_key FROM routing_keys WHERE key_id > $1 ORDER BY key_id',
      [keys.maxKeyId],
    );
    keys.add(rows.rows);
  };
  const safeHead = async (): Promise<number> =>
    (await pool.query<{ head: number }>('SELECT warren_safe_head() AS head')).rows[0]?.head ?? 0;
  const positioned = (rows: readonly Row[]): PositionedRecord[] => rows.map((row) => toPositioned(row, keys));
  const rowsOf = async (sql: string, p: Params): Promise<Row[]> =>
    (await pool.query<Row>(sql, p.values)).rows;

  /** Whether fewer than `cap` records match (counting stops at the cap). */
  const hitsBelow = async (condition: string, p: Params, cap: number): Promise<boolean> => {
    const counted = await pool.query<{ n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM records r WHERE ${condition} LIMIT ${cap}) hits`,
      p.values,
    );
    return (counted.rows[0]?.n ?? cap) < cap;
  };

  /** Keys the filter selects: null for all, [] for none. */
  const keyIdsFor = (filter: RecordFilter): number[] | null => keys.idsFor(filter.patterns);

  const page: QueryStore['page'] = (query) =>
    read(async (): Promise<Page> => {
      await refreshKeys();
      const head = query.head ?? (await safeHead());
      const keyIds = keyIdsFor(query);
      if (keyIds !== null && keyIds.length === 0) return { records: [], more: false, head };
      const p = new Params();
      const parts = [`r.seq <= ${p.add(head)}`, ...filterWhere(query, keyIds, p)];
      if (query.after !== undefined) parts.push(beyond(query.order, query.after, p));
      // The planner guesses a word's rarity badly and walks the time index filtering every row for
      // a rare one (3.3 s over 5M rows); when the words are few, read them from the GIN index first
      // (the fence keeps the order and limit out of that read) and sort the handful.
      const fewHits = query.text !== undefined && (await hitsBelow(where(parts), p, FEW_HITS));
      const from = fewHits ? `(SELECT * FROM records r WHERE ${where(parts)} OFFSET 0) r` : 'records r';
      const rows = await rowsOf(
        `SELECT ${PG_COLUMNS} FROM ${from} ${fewHits ? '' : `WHERE ${where(parts)}`} ${orderBy(query.order)} LIMIT ${p.add(query.limit + 1)}`,
        p,
      );
      const more = rows.length > query.limit;
      if (more) rows.length = query.limit;
      return { records: positioned(rows), more, head };
    });

  const streamBatch: QueryStore['streamBatch'] = (filter, after, limit) =>
    read(async (): Promise<StreamBatch> => {
      await refreshKeys();
      const head = await safeHead();
      if (head <= after) return { records: [], through: after, more: false, head };
      // Examine at most a bounded seq window per call so one call never scans the whole backlog.
      const through = Math.min(head, after + limit * 20);
      const keyIds = keyIdsFor(filter);
      if (keyIds !== null && keyIds.length === 0) return { records: [], through: head, more: false, head };
      const p = new Params();
      const parts = [
        `r.seq > ${p.add(after)}`,
        `r.seq <= ${p.add(through)}`,
        ...filterWhere(filter, keyIds, p),
      ];
      const rows = await rowsOf(
        `SELECT ${PG_COLUMNS} FROM records r WHERE ${where(parts)} ORDER BY r.seq LIMIT ${p.add(limit + 1)}`,
        p,
      );
      if (rows.length > limit) {
        rows.length = limit;
        const last = rows[rows.length - 1];
        return { records: positioned(rows), through: last?.seq ?? after, more: true, head };
      }
      return { records: positioned(rows), through, more: through < head, head };
    });

  const countBetween: QueryStore['countBetween'] = (filter, after, through) =>
    read(async (): Promise<number> => {
      await refreshKeys();
      const keyIds = keyIdsFor(filter);
      if (keyIds !== null && keyIds.length === 0) return 0;
      const p = new Params();
      const parts = [
        `r.seq > ${p.add(after)}`,
        `r.seq <= ${p.add(through)}`,
        ...filterWhere(filter, keyIds, p),
      ];
      const rows = await pool.query<{ n: number }>(
        `SELECT count(*) AS n FROM records r WHERE ${where(parts)}`,
        p.values,
      );
      return rows.rows[0]?.n ?? 0;
    });

  const countsByKey: QueryStore['countsByKey'] = (since, until) =>
    read(async (): Promise<KeyCount[]> => {
      await refreshKeys();
      const rows = await pool.query<{ key_id: number; n: number; facility: string; severity: number }>(
        `SELECT key_id, count(*) AS n, min(facility) AS facility, min(severity) AS severity
         FROM records WHERE ts >= $1 AND ts < $2 GROUP BY key_id`,
        [since, until],
      );
      return rows.rows.map((row) => {
        const routingKey = keys.name(row.key_id);
        let { facility, severity } = readRoutingKey(routingKey);
        // A foreign key the collector could not read: report what it stored for it.
        facility ??= row.facility;
        severity ??= severityFromRank(row.severity) ?? 'notice';
        return { routing_key: routingKey, facility, severity, count: row.n };
      });
    });

  const volume: QueryStore['volume'] = (filter, stepMs) =>
    read(async (): Promise<VolumeCount[]> => {
      await refreshKeys();
      const keyIds = keyIdsFor(filter);
      if (keyIds !== null && keyIds.length === 0) return [];
      const p = new Params();
      const parts = filterWhere(filter, keyIds, p);
      const step = p.add(stepMs);
      const rows = await pool.query<{ bucket: number; severity: number; n: number }>(
        `SELECT (r.ts / ${step}::bigint) * ${step}::bigint AS bucket, r.severity, count(*) AS n
         FROM records r WHERE ${where(parts)} GROUP BY 1, 2`,
        p.values,
      );
      return rows.rows.map((row) => ({
        bucket: row.bucket,
        severity: severityFromRank(row.severity) ?? 'notice',
        count: row.n,
      }));
    });

  const top: QueryStore['top'] = (filter, by, limit) =>
    read(async (): Promise<TopValues> => {
      await refreshKeys();
      const keyIds = keyIdsFor(filter);
      if (keyIds !== null && keyIds.length === 0)
        return { values: [], otherValues: 0, otherCount: 0, total: 0 };
      const p = new Params();
      const parts = filterWhere(filter, keyIds, p);
      let value: string;
      if ('column' in by) {
        value = `r.${by.column}`;
      } else {
        const path = p.add(by.path);
        // Objects, arrays and null are not values to count.
        value = `CASE WHEN jsonb_typeof(r.fields #> ${path}::text[]) IN ('string', 'number', 'boolean') THEN r.fields #> ${path}::text[] END`;
      }
      const groups = (
        await pool.query<{ value: string | number | boolean | null; n: number }>(
          `SELECT ${value} AS value, count(*) AS n FROM records r WHERE ${where(parts)} GROUP BY 1 ORDER BY n DESC, value ASC`,
          p.values,
        )
      ).rows;
      return topValuesOf(groups, by, limit);
    });

  const context: QueryStore['context'] = (id, before, after, scope) =>
    read(async (): Promise<ContextRecords | null> => {
      await refreshKeys();
      const target = (
        await pool.query<Row>(`SELECT ${PG_COLUMNS} FROM records r WHERE r.id = $1 LIMIT 1`, [id])
      ).rows[0];
      if (target === undefined) return null;
      const around = async (order: 'asc' | 'desc', limit: number): Promise<Row[]> => {
        const p = new Params();
        const parts = [beyond(order, { ts: target.ts, seq: target.seq }, p)];
        if (scope !== 'all') parts.push(`r.host IS NOT DISTINCT FROM ${p.add(target.host)}`);
        if (scope === 'stream') parts.push(`r.app IS NOT DISTINCT FROM ${p.add(target.app)}`);
        return rowsOf(
          `SELECT ${PG_COLUMNS} FROM records r WHERE ${where(parts)} ${orderBy(order)} LIMIT ${p.add(limit)}`,
          p,
        );
      };
      const earlier = await around('desc', before);
      const later = await around('asc', after);
      return {
        before: positioned(earlier.reverse()),
        record: positioned([target])[0]!,
        after: positioned(later),
      };
    });

  const facts: QueryStore['facts'] = () =>
    read(async (): Promise<StoreFacts> => {
      const row = (
        await pool.query<{ size: number; oldest: number | null; newest: number | null; head: number }>(
          `SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits
                    WHERE inhparent = 'records'::regclass) AS size,
                  (SELECT min(ts) FROM records) AS oldest, (SELECT max(ts) FROM records) AS newest,
                  warren_safe_head() AS head`,
        )
      ).rows[0];
      return {
        sizeBytes: row?.size ?? 0,
        oldest: row?.oldest ?? null,
        newest: row?.newest ?? null,
        head: row?.head ?? 0,
      };
    });

  return {
    page,
    streamBatch,
    countBetween,
    head: () => read(safeHead),
    countsByKey,
    volume,
    top,
    context,
    facts,
    close: () => pool.end(),
  };
}
