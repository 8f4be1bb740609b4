import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { ErrorCodes, WarrenError, errorMessage } from '../../protocol/index.js';
import { redactUrl } from '../config.js';
import { openPgQueryStore } from './postgres/pg-query-store.js';
import { openPgStore } from './postgres/pg-store.js';
import { createRoutingKeys } from './routing-keys.js';
import { columnsOf, toPositioned, type Row } from './rows.js';
import { createStatements } from './statements.js';

export interface CopyOptions {
  /** Records per transaction on PostgreSQL. */
  readonly batch?: number;
  /** Copy into a store that already holds records (a copy that was interrupted). */
  readonly resume?: boolean;
  /** After each batch: records read so far of the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CopyResult {
  /** Records read from the SQLite file. */
  read: number;
  /** Records new to the PostgreSQL store. */
  stored: number;
  /** Records whose id the PostgreSQL store already held (a resumed copy). */
  duplicates: number;
  /** Records without an id: a second copy of the same file would store these again. */
  withoutId: number;
}

/**
 * `logcollect migrate`: every record of a SQLite store into a PostgreSQL store, in seq order, in
 * batches through the collector's own PostgreSQL writer (so dedupe by id, partitions and words are
 * exactly what ingest makes). The SQLite file is only read; stop the collector writing it first.
 */
export async function copyToPostgres(
  dbPath: string,
  url: string,
  logger: Logger,
  options: CopyOptions = {},
): Promise<CopyResult> {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot read the SQLite store ${dbPath}: ${errorMessage(err)}`,
      {
        cause: err,
        hint: 'give the Warren SQLite file with --db (the collector writing it should be stopped)',
      },
    );
  }
  const store = await openPgStore(url, { applicationName: 'logcollect migrate' }, logger);
  try {
    const statements = createStatements(db);
    const keys = createRoutingKeys(statements);
    keys.refresh();
    const total = db.prepare('SELECT count(*) FROM records').pluck().get() as number;
    if (options.resume !== true) await refuseNonEmpty(url, logger);
    const result: CopyResult = { read: 0, stored: 0, duplicates: 0, withoutId: 0 };
    const page = statements.prepare(
      `SELECT ${columnsOf(db)} FROM records r WHERE r.seq > ? ORDER BY r.seq LIMIT ?`,
    );
    let after = 0;
    for (;;) {
      const rows = page.all(after, options.batch ?? 5000) as Row[];
      if (rows.length === 0) break;
      const records = rows.map((row) => toPositioned(row, keys).record);
      const written = await store.write(records);
      result.read += rows.length;
      result.stored += written.stored;
      result.duplicates += written.duplicates;
      result.withoutId += records.filter((record) => record.id === null).length;
      after = rows[rows.length - 1]?.seq ?? after;
      options.onProgress?.(result.read, total);
    }
    return result;
  } finally {
    db.close();
    await store.close(logger);
  }
}

/** A copy goes into an empty store, unless it resumes one that was interrupted. */
async function refuseNonEmpty(url: string, logger: Logger): Promise<void> {
  const reads = await openPgQueryStore(url, { connections: 1, timeoutMs: 60_000 }, logger);
  try {
    const facts = await reads.facts();
    if (facts.head > 0) {
      throw new WarrenError(
        ErrorCodes.BAD_USAGE,
        `the PostgreSQL store ${redactUrl(url)} already holds records`,
        {
          hint: 'copy into an empty database, or add --resume to continue an interrupted copy (records with ids are not doubled; records without one would be)',
        },
      );
    }
  } finally {
    await reads.close();
  }
}
