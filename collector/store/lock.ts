import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, WarrenError, errorMessage, makeDirectory } from '../../protocol/index.js';

/** Held for a collector's life so that no second collector writes the same store. */
export interface StoreLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the store's writer lock: `<db>.lock`, a small SQLite file held in EXCLUSIVE locking mode
 * after one write. The lock is an fcntl lock, so the OS drops it when the process dies (a SIGKILLed
 * collector never leaves a stale lock), and the main store stays readable by the API's connections.
 */
export function lockStore(dbPath: string): StoreLock | null {
  if (dbPath === ':memory:') return null;
  const path = `${dbPath}.lock`;
  let db: Database.Database;
  try {
    makeDirectory(dirname(path));
    db = new Database(path, { timeout: 0 });
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot open the store ${dbPath}: ${errorMessage(err)} (taking its lock ${path})`,
      {
        cause: err,
        hint: 'check that the directory of --db is writable',
      },
    );
  }
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the EXCLUSIVE lock; the locking mode keeps it until the connection closes.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, since TEXT)');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
  } catch (err) {
    db.close();
    if (/SQLITE_BUSY|database is locked/i.test(errorMessage(err))) {
      throw new WarrenError(
        ErrorCodes.STORE_LOCKED,
        `the store ${dbPath} is in use by another logcollect (it holds ${path})`,
        {
          cause: err,
          hint: 'run one collector per store: stop the other one, or give this one its own --db',
          context: { db: dbPath, lock: path },
        },
      );
    }
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot lock the store ${dbPath}: ${errorMessage(err)}`,
      {
        cause: err,
        hint: 'check that the directory of --db is writable',
      },
    );
  }
  return {
    path,
    release: () => db.close(),
  };
}
