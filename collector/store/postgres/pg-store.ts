import type { Logger } from 'pino';
import { errorMessage, severityRank, type StoredRecord } from '../../../protocol/index.js';
import { redactUrl } from '../../config.js';
import type { LedgerRow } from '../../ingest/redeliveries.js';
import type { IngestStore, WriteResult } from '../store.js';
import { checkPg, inTransaction, openPgPool } from './pool.js';
import { createPgRetention } from './retention.js';
import { indexWords } from './words.js';
import { createFieldsEncoder, createTsParser } from '../writer.js';
import { BINDINGS_LOCK, createPartitions, DAY_MS, listPartitions, migratePg } from './schema.js';

export interface PgStoreOptions {
  /** Told before an older schema is migrated. */
  readonly onMigrate?: (from: number, to: number) => void;
  /** Shown in pg_stat_activity. */
  readonly applicationName: string;
  /** Runs just before each batch commits (tests hold transactions open to reorder commits). */
  readonly beforeCommit?: () => Promise<void>;
}

/** The channel every collector notifies after a batch commits: the APIs' live streams listen. */
export const STORED_CHANNEL = 'warren_stored';
/** How often upkeep makes the next days' partitions and trims seq_blocks. */
const UPKEEP_MS = 60_000;
/** Days ahead of today whose partitions are kept ready. */
const DAYS_AHEAD = 2;

/**
 * The PostgreSQL store's ingest side, shared by several collectors: each batch is one transaction
 * (seq block, rows, ledger, its seq_blocks row, a notice to the live streams), records are inserted
 * from arrays in one statement, and a record id already stored is skipped by the (id, ts) index.
 */
export async function openPgStore(
  url: string,
  options: PgStoreOptions,
  logger: Logger,
): Promise<IngestStore> {
  const pool = openPgPool(url, { max: 3, applicationName: options.applicationName }, logger);
  try {
    await checkPg(pool, url);
    const client = await pool.connect();
    try {
      await migratePg(client, options.onMigrate);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const days = new Set<number>();
  const refreshDays = async (): Promise<void> => {
    days.clear();
    for (const day of await listPartitions(pool)) days.add(day);
  };
  await refreshDays();
  const ensureDays = async (wanted: readonly number[]): Promise<void> => {
    const missing = wanted.filter((day) => !days.has(day));
    if (missing.length === 0) return;
    const client = await pool.connect();
    try {
      await createPartitions(client, missing);
    } finally {
      client.release();
    }
    for (const day of missing) days.add(day);
  };

  const keyIds = new Map<string, number>();
  const ensureKeys = async (keys: readonly string[]): Promise<void> => {
    const missing = keys.filter((key) => !keyIds.has(key));
    if (missing.length === 0) return;
    // Its own short transaction: a key is harmless if the batch then rolls back.
    await pool.query(
      'INSERT INTO routing_keys (routing_key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
      [missing],
    );
    const rows = await pool.query<{ key_id: number; routing_key: string }>(
      'SELECT key_id, routing_key FROM routing_keys WHERE routing_key = ANY($1::text[])',
      [missing],
    );
    for (const row of rows.rows) keyIds.set(row.routing_key, row.key_id);
  };

  const tsMs = createTsParser();
  const fieldsJson = createFieldsEncoder();

  async function insertBatch(
    records: readonly StoredRecord[],
    ledger: Parameters<IngestStore['write']>[1],
  ): Promise<WriteResult> {
    const n = records.length;
    const ts = records.map((record) => tsMs(record.ts));
    if (n > 0) {
      await ensureDays([...new Set(ts.map((t) => Math.floor(t / DAY_MS) * DAY_MS))]);
      await ensureKeys([...new Set(records.map((record) => record.routing_key))]);
    }
    return inTransaction(pool, async (client) => {
      let hi = 0;
      let stored = 0;
      let newestTs: number | null = null;
      if (n > 0) {
        // First: the transaction's id and its seq block, under one lock (schema.ts says why).
        const lo =
          (await client.query<{ lo: number }>('SELECT warren_allocate($1) AS lo', [n])).rows[0]?.lo ?? 0;
        hi = lo + n - 1;
        const inserted = await client.query<{ stored: number; newest: number | null }>(
          `WITH ins AS (
             INSERT INTO records (seq, id, ts, key_id, facility, severity, host, app, pid, msg, fields, words)
             SELECT s, i, t, k, f, sv, h, a, p, m, fl::jsonb, array_to_tsvector(string_to_array(w, ' '))
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::smallint[],
                         $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[])
                  AS u(s, i, t, k, f, sv, h, a, p, m, fl, w)
             ON CONFLICT (id, ts) DO NOTHING
             RETURNING ts)
           SELECT count(*) AS stored, max(ts) AS newest FROM ins`,
          [
            records.map((_, index) => lo + index),
            records.map((record) => record.id),
            ts,
            records.map((record) => keyIds.get(record.routing_key) ?? 0),
            records.map((record) => record.facility),
            records.map((record) => severityRank(record.severity)),
            records.map((record) => record.host ?? null),
            records.map((record) => record.app ?? null),
            records.map((record) => record.pid ?? null),
            records.map((record) => record.msg),
            records.map((record) => fieldsJson(record.fields)),
            records.map((record) => indexWords(record.msg)),
          ],
        );
        stored = inserted.rows[0]?.stored ?? 0;
        newestTs = inserted.rows[0]?.newest ?? null;
        await client.query('INSERT INTO seq_blocks (xid, hi) VALUES (pg_current_xact_id(), $1)', [hi]);
        await client.query(`SELECT pg_notify('${STORED_CHANNEL}', $1)`, [String(hi)]);
      }
      if (ledger !== undefined) {
        if (ledger.remove.length > 0)
          await client.query('DELETE FROM unsettled_messages WHERE id = ANY($1::bigint[])', [ledger.remove]);
        if (ledger.add.length > 0)
          await client.query(
            'INSERT INTO unsettled_messages (id, batch, digest, owner) SELECT *, $4 FROM unnest($1::bigint[], $2::bigint[], $3::text[])',
            [
              ledger.add.map((row) => row.id),
              ledger.add.map((row) => row.batch),
              ledger.add.map((row) => row.digest),
              options.applicationName,
            ],
          );
        if (ledger.claim.length > 0)
          await client.query('UPDATE unsettled_messages SET owner = $2 WHERE id = ANY($1::bigint[])', [
            ledger.claim,
            options.applicationName,
          ]);
      }
      await options.beforeCommit?.();
      return { stored, duplicates: n - stored, lastSeq: hi, newestTs };
    });
  }

  return {
    location: redactUrl(url),
    async write(source, ledger) {
      // Read once, up front: the statement sends the batch as arrays, and a retry reuses them.
      const records = Array.from(source);
      try {
        return await insertBatch(records, ledger);
      } catch (err) {
        // Another collector's retention dropped a day this one still thought was there.
        if ((err as { code?: unknown }).code === '23514') {
          await refreshDays();
          return insertBatch(records, ledger);
        }
        throw err;
      }
    },
    async ledgerRows() {
      const rows = await pool.query<LedgerRow>(
        'SELECT id, batch, digest FROM unsettled_messages ORDER BY id',
      );
      return rows.rows;
    },
    async ledgerRowsFor(digests) {
      if (digests.length === 0) return [];
      // Only the rows of collectors that are gone (none of their connections left): a live one's
      // may be its running session's, for an identical message it committed and is acking.
      const rows = await pool.query<LedgerRow>(
        `SELECT id, batch, digest FROM unsettled_messages
         WHERE digest = ANY($1::text[]) AND (owner IS NULL OR owner NOT IN (
           SELECT application_name FROM pg_stat_activity WHERE datname = current_database()))`,
        [digests],
      );
      return rows.rows;
    },
    async removeLedgerRows(ids) {
      if (ids.length > 0)
        await pool.query('DELETE FROM unsettled_messages WHERE id = ANY($1::bigint[])', [ids]);
    },
    async bindings(queue, exchange) {
      const rows = await pool.query<{ binding_key: string }>(
        'SELECT binding_key FROM bindings WHERE queue = $1 AND exchange = $2 ORDER BY binding_key',
        [queue, exchange],
      );
      return rows.rows.map((row) => row.binding_key);
    },
    async rememberBindings(queue, exchange, keys) {
      await inTransaction(pool, async (client) => {
        // Collectors sharing a queue start together: without the lock, two deleted the same keys and
        // both inserted them, and the second failed on the primary key (and exited).
        await client.query(`SELECT pg_advisory_xact_lock(${BINDINGS_LOCK}, warren_lock_space())`);
        await client.query('DELETE FROM bindings WHERE queue = $1 AND exchange = $2', [queue, exchange]);
        await client.query(
          'INSERT INTO bindings (queue, exchange, binding_key) SELECT $1, $2, unnest($3::text[])',
          [queue, exchange, [...new Set(keys)]],
        );
      });
    },
    retention: (rules, now) =>
      createPgRetention(pool, {
        rules,
        now,
        onDropped: (day) => days.delete(day),
      }),
    maintain(log) {
      const upkeep = async (): Promise<void> => {
        const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
        await ensureDays(Array.from({ length: DAYS_AHEAD + 1 }, (_, i) => today + i * DAY_MS));
        // The row at the safe head stays: it is what the head is read from.
        await pool.query('DELETE FROM seq_blocks WHERE hi < warren_safe_head()');
      };
      const run = (): void => {
        upkeep().catch((err: unknown) =>
          log.warn({ err: errorMessage(err) }, 'store upkeep failed; will retry'),
        );
      };
      run();
      const timer = setInterval(run, UPKEEP_MS);
      timer.unref();
      return { stop: () => clearInterval(timer) };
    },
    async close() {
      await pool.end();
    },
  };
}
