import { bindingsOf } from './bindings.js';
import { closeDatabase, startCheckpoints } from './checkpoint.js';
import { openDatabase, type Db } from './database.js';
import { lockStore, type StoreLock } from './lock.js';
import { createRetention } from './retention.js';
import type { IngestStore } from './store.js';
import { createBatchWriter } from './writer.js';

export interface SqliteStoreOptions {
  /** Told before an older store is migrated. */
  readonly onMigrate?: (from: number, to: number) => void;
  /** How often the WAL's size is checked (and truncated when over its bound). */
  readonly checkpointIntervalMs: number;
  /** An already opened database (tests make its disk "full"); not locked or closed here. */
  readonly db?: Db;
}

/**
 * The embedded store: one SQLite file, written by one collector (it holds `<db>.lock`), with its
 * own synchronous writer wrapped in promises for the ingest side's interface.
 */
export function openSqliteStore(
  dbPath: string,
  options: SqliteStoreOptions,
): IngestStore & { readonly db: Db } {
  const lock: StoreLock | null = options.db === undefined ? lockStore(dbPath) : null;
  let db: Db;
  try {
    db =
      options.db ??
      openDatabase(dbPath, options.onMigrate === undefined ? {} : { onMigrate: options.onMigrate });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const writer = createBatchWriter(db);
  const remove = db.prepare('DELETE FROM unsettled_messages WHERE rowid = ?');
  const owned = options.db === undefined;
  return {
    db,
    location: dbPath,
    // Written at once, in the caller's turn, as before the interface was async.
    write: (records, ledger) => {
      try {
        return Promise.resolve(writer.write(records, ledger));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    ledgerRows: () =>
      Promise.resolve(
        db.prepare('SELECT rowid AS id, batch, digest FROM unsettled_messages ORDER BY rowid').all() as {
          id: number;
          batch: number;
          digest: string;
        }[],
      ),
    // One collector per SQLite file: every row of its table is already its ledger's.
    ledgerRowsFor: () => Promise.resolve([]),
    removeLedgerRows: (ids) =>
      Promise.resolve().then(() =>
        db.transaction(() => {
          for (const id of ids) remove.run(id);
        })(),
      ),
    bindings: (queue, exchange) => Promise.resolve(bindingsOf(db, queue, exchange).previous()),
    rememberBindings: (queue, exchange, keys) =>
      Promise.resolve().then(() => bindingsOf(db, queue, exchange).remember(keys)),
    retention: (rules, now) => createRetention(db, { rules, now }),
    maintain: (logger) => startCheckpoints(db, dbPath, options.checkpointIntervalMs, logger),
    close(logger) {
      if (owned) closeDatabase(db, logger);
      lock?.release();
      return Promise.resolve();
    },
  };
}
