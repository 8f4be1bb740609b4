import type { PoolClient } from 'pg';
import { ErrorCodes, WarrenError } from '../../../protocol/index.js';

/**
 * The PostgreSQL store's schema, as ordered migrations recorded in warren_schema: a newer Warren
 * runs the rest in one transaction, under an advisory lock so collectors starting together migrate
 * once. The same columns as the SQLite store (ts in ms since the epoch, severity as its rank), so
 * cursors and answers are the same on both.
 *
 * - records is partitioned by day of ts (records_YYYYMMDD); the writer creates a day's partition
 *   before the first batch that needs it and upkeep keeps the next days ready; retention drops a
 *   whole day when every key's rule has expired it.
 * - words is the message's words exactly as protocol/search.ts cuts them (computed by the writer,
 *   so the live matcher and the store agree), a tsvector without positions, under GIN.
 * - seq is allocated in blocks by warren_allocate(n), which takes the transaction's id and its
 *   block under one advisory lock: transaction-id order is then seq order, and readers see only
 *   the blocks below the oldest running writer's id (warren_safe_head()), so concurrent writers
 *   never make a reader skip a row that commits late with a lower seq (CONTRACT §4).
 */

/** Advisory lock keys (the first of two; the second is the schema's, warren_lock_space()). */
export const ALLOCATION_LOCK = 0x5761726e; // 'Warn'
/** Held shared by every batch transaction from its start to its end: who is writing right now. */
export const WRITERS_LOCK = ALLOCATION_LOCK + 1;
/** Held while a collector rewrites its queue's remembered binding keys (collectors start together). */
export const BINDINGS_LOCK = ALLOCATION_LOCK + 2;
/** The advisory lock key of migrations and partition creation (one key, database-wide). */
export const SCHEMA_LOCK = 0x77617272656e;

export const PG_MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE routing_keys (
    key_id      serial PRIMARY KEY,
    routing_key text NOT NULL UNIQUE
  );
  CREATE SEQUENCE records_seq AS bigint;
  CREATE TABLE records (
    seq      bigint NOT NULL,
    id       text,
    ts       bigint NOT NULL,
    key_id   integer NOT NULL,
    facility text NOT NULL,
    severity smallint NOT NULL,
    host     text,
    app      text,
    pid      integer,
    msg      text NOT NULL,
    fields   jsonb,
    words    tsvector NOT NULL
  ) PARTITION BY RANGE (ts);
  CREATE UNIQUE INDEX records_id ON records (id, ts);
  CREATE INDEX records_ts ON records (ts, seq);
  CREATE INDEX records_key_ts ON records (key_id, ts, seq);
  CREATE INDEX records_host_ts ON records (host, ts, seq) WHERE host IS NOT NULL;
  CREATE INDEX records_seq_brin ON records USING brin (seq);
  CREATE INDEX records_words ON records USING gin (words);

  -- One row per committed batch: the seq block it allocated, under its transaction id.
  CREATE TABLE seq_blocks (
    xid xid8   NOT NULL,
    hi  bigint NOT NULL
  );
  CREATE INDEX seq_blocks_hi ON seq_blocks (hi);

  CREATE TABLE bindings (
    queue       text NOT NULL,
    exchange    text NOT NULL,
    binding_key text NOT NULL,
    PRIMARY KEY (queue, exchange, binding_key)
  );
  CREATE TABLE unsettled_messages (
    id     bigint PRIMARY KEY,
    batch  bigint NOT NULL,
    digest text NOT NULL
  );

  -- The first write of a batch's transaction: it joins the running writers (a shared lock held to
  -- its end), then takes its transaction id and n seqs, both under one lock. Lock keys are this
  -- schema's, so stores in other schemas of the database do not wait for each other.
  CREATE FUNCTION warren_lock_space() RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT ('seq_blocks'::regclass::oid::bigint % 2147483647)::integer
  $$;
  CREATE FUNCTION warren_allocate(n bigint) RETURNS bigint LANGUAGE plpgsql AS $$
  DECLARE
    lo bigint;
    space integer := warren_lock_space();
  BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
      RAISE EXCEPTION 'warren_allocate must come before any other write of its transaction';
    END IF;
    PERFORM pg_advisory_xact_lock_shared(${WRITERS_LOCK}, space);
    PERFORM pg_advisory_lock(${ALLOCATION_LOCK}, space);
    BEGIN
      PERFORM pg_current_xact_id();
      lo := nextval('records_seq');
      IF n > 1 THEN
        PERFORM setval('records_seq', lo + n - 1);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      PERFORM pg_advisory_unlock(${ALLOCATION_LOCK}, space);
      RAISE;
    END;
    PERFORM pg_advisory_unlock(${ALLOCATION_LOCK}, space);
    RETURN lo;
  END
  $$;

  -- The highest seq at or below which every row that will ever exist is committed and visible:
  -- first the lowest transaction id a writer may still commit under (the running writers' ids, or
  -- the next id to be given), then, in a later snapshot, the highest block below it.
  CREATE FUNCTION warren_safe_head() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
  DECLARE
    next_xid bigint;
    bound bigint;
    head bigint;
  BEGIN
    next_xid := pg_snapshot_xmax(pg_current_snapshot())::text::bigint;
    -- pg_locks names a transaction by its 32-bit id: widen it to the full id nearest next_xid
    -- (a writer may have taken its id after next_xid was read: then it is above it).
    SELECT min(next_xid + ((t.transactionid::text::bigint - next_xid) % 4294967296 + 4294967296 + 2147483648) % 4294967296 - 2147483648)
      INTO bound
      FROM pg_locks w JOIN pg_locks t ON t.pid = w.pid AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock'
     WHERE w.locktype = 'advisory' AND w.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND w.classid = ${WRITERS_LOCK} AND w.objid = warren_lock_space() AND w.objsubid = 2 AND w.granted;
    bound := least(coalesce(bound, next_xid), next_xid);
    SELECT coalesce(max(hi), 0) INTO head FROM seq_blocks WHERE xid < bound::text::xid8;
    RETURN head;
  END
  $$;
  `,
  // 2: who left each unsettled digest (its application_name, logcollect@HOST:PID by default), so
  // another collector may adopt the digests of one that is gone (ingest/redeliveries.ts).
  `
  ALTER TABLE unsettled_messages ADD COLUMN owner text;
  CREATE INDEX unsettled_messages_digest ON unsettled_messages (digest);
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Runs the migrations the database has not seen, in one transaction; refuses a newer schema. */
export async function migratePg(
  client: PoolClient,
  onMigrate?: (from: number, to: number) => void,
): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS warren_schema (version integer NOT NULL)');
    const row = await client.query<{ version: number }>('SELECT version FROM warren_schema');
    const from = row.rows[0]?.version ?? 0;
    if (from > PG_SCHEMA_VERSION) {
      throw new WarrenError(
        ErrorCodes.STORE_UNAVAILABLE,
        `the store has schema version ${from}, newer than this Warren understands (${PG_SCHEMA_VERSION})`,
        { hint: 'upgrade Warren, or point --store at another database' },
      );
    }
    if (from > 0 && from < PG_SCHEMA_VERSION) onMigrate?.(from, PG_SCHEMA_VERSION);
    for (let version = from; version < PG_SCHEMA_VERSION; version++) {
      await client.query(PG_MIGRATIONS[version] ?? '');
    }
    if (row.rows.length === 0)
      await client.query('INSERT INTO warren_schema VALUES ($1)', [PG_SCHEMA_VERSION]);
    else await client.query('UPDATE warren_schema SET version = $1', [PG_SCHEMA_VERSION]);
    await client.query('COMMIT');
    return from;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export const DAY_MS = 86_400_000;

/** The partition holding a day (the day's start, ms since the epoch, UTC). */
export function partitionName(dayStart: number): string {
  return `records_${new Date(dayStart).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/** The day start of each partition there is, from the catalogue. */
export async function listPartitions(client: Pick<PoolClient, 'query'>): Promise<number[]> {
  const rows = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'records'::regclass`,
  );
  return rows.rows
    .map((row) => /^records_(\d{4})(\d{2})(\d{2})$/.exec(row.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
    .sort((a, b) => a - b);
}

/**
 * Creates the day partitions not there yet, each in its own short transaction (the lock serialises
 * collectors doing the same; an existing one is skipped).
 */
export async function createPartitions(
  client: Pick<PoolClient, 'query'>,
  days: readonly number[],
): Promise<void> {
  for (const day of days) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF records FOR VALUES FROM (${day}) TO (${day + DAY_MS})`,
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
