import pg from 'pg';
import type { Logger } from 'pino';
import { ErrorCodes, WarrenError, errorMessage } from '../../../protocol/index.js';
import { redactUrl } from '../../config.js';

/** bigint columns (seq, ts, counts) as numbers: every value Warren keeps is below 2^53. */
const INT8 = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8 && format !== 'binary'
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser as (oid: number, format: string) => unknown)(
          oid,
          format ?? 'text',
        )) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PgPoolOptions {
  /** Connections at most (the writer needs one; the API one per query in flight). */
  readonly max: number;
  /** Shown in pg_stat_activity. */
  readonly applicationName: string;
  /** A statement running longer is cancelled (ms; 0: no limit). */
  readonly statementTimeoutMs?: number;
}

/**
 * A pool on the store's URL. A connection that breaks (PostgreSQL restarted) is dropped from the
 * pool and logged, never thrown at the process: the next query opens a new one.
 */
export function openPgPool(url: string, options: PgPoolOptions, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    application_name: options.applicationName,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    types,
  });
  pool.on('error', (err) =>
    logger.warn({ err: errorMessage(err) }, 'a PostgreSQL connection broke; it will be reopened'),
  );
  return pool;
}

/** Connects once to say clearly, at start, that the store cannot be reached and what to do. */
export async function checkPg(pool: pg.Pool, url: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot reach the PostgreSQL store ${redactUrl(url)}: ${errorMessage(err)}`,
      {
        cause: err,
        hint: 'is PostgreSQL running and does the database exist? (createdb warren); check the URL of --store / WARREN_STORE',
      },
    );
  }
}

/** Runs `work` in one transaction on one connection; a broken connection is discarded, not reused. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollback: unknown) => {
      broken = rollback instanceof Error ? rollback : new Error(String(rollback));
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
