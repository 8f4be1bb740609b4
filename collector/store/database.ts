import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, WarrenError, errorMessage, makeDirectory } from '../../protocol/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type Db = Database.Database;

export interface OpenOptions {
  /**
   * Page cache per connection, MiB (default 12): a batch's dirty pages (~6 MiB for 5,000 syslog
   * lines) and the hot index leaves fit; 16 cost the collector 5 MiB at its peak for no CPU (issue 15).
   */
  cacheMb?: number;
  /** Memory-mapped I/O, MiB (default 0): the writer gains little, and mapped pages count in RSS. */
  mmapMb?: number;
  /** WAL bytes before SQLite checkpoints on commit (default 16 MiB; 0 = never), in whole pages. */
  walAutocheckpointBytes?: number;
  /** Told before an older store is migrated, which can take a while on a large one. */
  onMigrate?: (from: number, to: number) => void;
}

/** What the WAL file is truncated back to after a checkpoint resets it. */
export const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * Page size of a new store. Ingest touches a leaf of each index per routing key and host per
 * commit; 16 KiB pages (SQLite's default is 4 KiB) hold four times the entries per leaf, so a batch
 * splits and rewrites fewer pages: 8–10% less writer CPU per record (issue 15, seventh round). An
 * existing store keeps the page size it was made with (changing it needs a VACUUM).
 */
export const NEW_STORE_PAGE_SIZE = 16384;

const DEFAULT_WAL_AUTOCHECKPOINT_BYTES = 16 * 1024 * 1024;

/**
 * Opens (creating if needed) the store for writing: WAL so the HTTP API reads while we write, and
 * synchronous=FULL so every commit is fsynced before the batch is acked: an acked record survives
 * an OS crash or power loss too, for one fsync per batch. Then brings the schema up to date.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  let db: Db;
  try {
    if (path !== ':memory:') makeDirectory(dirname(path));
    db = new Database(path);
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot open the store ${path}: ${errorMessage(err)}`,
      {
        cause: err,
        hint: 'check that the directory of --db exists or can be created and is writable',
      },
    );
  }
  try {
    // Before WAL mode: a new file takes it; a made one ignores it.
    db.pragma(`page_size = ${NEW_STORE_PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`cache_size = ${-1024 * (options.cacheMb ?? 12)}`);
    db.pragma(`mmap_size = ${1024 * 1024 * (options.mmapMb ?? 0)}`);
    db.pragma('temp_store = MEMORY');
    db.pragma('busy_timeout = 5000');
    // better-sqlite3 turns foreign keys on; records.key_id's only writer inserts the key first in
    // the same transaction, so the check was a routing_keys lookup per record that never fails (2% of
    // the writer's SQLite instructions, issue 15) and nothing ever deletes a routing key.
    db.pragma('foreign_keys = OFF');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const autocheckpointBytes = options.walAutocheckpointBytes ?? DEFAULT_WAL_AUTOCHECKPOINT_BYTES;
    db.pragma(`wal_autocheckpoint = ${Math.ceil(autocheckpointBytes / pageSize)}`);
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    migrate(db, options.onMigrate);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof WarrenError) throw err;
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `cannot use the store ${path}: ${errorMessage(err)}`,
      {
        cause: err,
        hint: 'is it a Warren SQLite file, on a writable disk with free space?',
      },
    );
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Runs the migrations the file has not seen, all in one transaction, so a newer Warren opens an
 * older store and a failure leaves it as it was. A store from a newer Warren is refused, not guessed at.
 */
export function migrate(db: Db, onMigrate?: (from: number, to: number) => void): number {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new WarrenError(
      ErrorCodes.STORE_UNAVAILABLE,
      `the store has schema version ${from}, newer than this Warren understands (${SCHEMA_VERSION})`,
      { hint: 'upgrade Warren, or point --db at another file' },
    );
  }
  if (from === SCHEMA_VERSION) return from;
  if (from > 0) onMigrate?.(from, SCHEMA_VERSION);
  db.transaction(() => {
    for (let version = from; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version] ?? '');
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
  return from;
}
