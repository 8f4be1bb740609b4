import Database from 'better-sqlite3';
import { severityRank, type Severity } from '../../protocol/index.js';
import { migrate, openDatabase } from '../../collector/store/database.js';
import type { BenchRecord } from './records.js';

type DB = Database.Database;

/**
 * A new store exactly as the collector opens it (its pragmas: WAL, synchronous=FULL, cache and
 * mmap sizes; every migration), so a ceiling compares like with like. `defaults`: better-sqlite3
 * as it comes (rollback journal, synchronous=FULL) with Warren's schema, as a tutorial would use it.
 */
export function createStore(file: string, options: { defaults?: boolean } = {}): DB {
  if (options.defaults !== true) return openDatabase(file);
  const db = new Database(file);
  migrate(db);
  return db;
}

export interface Inserter {
  /** One transaction for the whole batch (INSERT OR IGNORE: the id is the dedupe key). */
  insertBatch(records: readonly BenchRecord[]): void;
  /** One autocommitted insert per record: what a per-message consumer does. */
  insertOne(record: BenchRecord): void;
}

/**
 * Raw better-sqlite3 inserts into the records table (and its FTS index when `fts`): the ceilings
 * measure SQLite itself (per-record autocommit, no FTS), which the collector's writer never does.
 */
export function makeInserter(db: DB, fts: boolean): Inserter {
  const keyIds = new Map<string, number>();
  const selectKey = db.prepare<[string], { key_id: number }>(
    'SELECT key_id FROM routing_keys WHERE routing_key = ?',
  );
  const insertKey = db.prepare<[string]>('INSERT INTO routing_keys (routing_key) VALUES (?)');
  const insert = db.prepare(
    `INSERT OR IGNORE INTO records (id, ts, key_id, facility, severity, host, app, pid, msg, fields)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertFts = db.prepare('INSERT INTO records_fts (rowid, msg) VALUES (?, ?)');
  // As the collector's writer does: a batch's new rows indexed by one statement.
  const indexNew = db.prepare(
    'INSERT INTO records_fts (rowid, msg) SELECT seq, msg FROM records WHERE seq > ?',
  );
  const maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM records').pluck();
  const keyId = (routingKey: string): number => {
    const known = keyIds.get(routingKey);
    if (known !== undefined) return known;
    const row = selectKey.get(routingKey);
    const id = row !== undefined ? row.key_id : Number(insertKey.run(routingKey).lastInsertRowid);
    keyIds.set(routingKey, id);
    return id;
  };
  const insertRow = ({ record, routingKey }: BenchRecord): Database.RunResult =>
    insert.run(
      record.id ?? null,
      record.ts === undefined ? Date.now() : Date.parse(record.ts),
      keyId(routingKey),
      record.facility ?? 'unknown',
      severityRank((record.severity ?? 'notice') as Severity),
      record.host ?? null,
      record.app ?? null,
      record.pid ?? null,
      record.msg,
      record.fields === undefined ? null : JSON.stringify(record.fields),
    );
  const batch = db.transaction((records: readonly BenchRecord[]) => {
    const before = maxSeq.get() as number;
    for (const record of records) insertRow(record);
    if (fts) indexNew.run(before);
  });
  const one = db.transaction((record: BenchRecord) => {
    const result = insertRow(record);
    if (fts && result.changes > 0) insertFts.run(result.lastInsertRowid, record.record.msg);
  });
  return {
    insertBatch: (records) => batch(records),
    insertOne: (record) => one(record),
  };
}

/** Rows stored so far, read through a separate read-only connection as a query would. */
export function openReader(file: string): DB {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}
