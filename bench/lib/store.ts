import Database from 'better-sqlite3';
import { severityRank, type Severity } from '../../protocol/index.js';
import { MIGRATIONS } from '../../collector/store/schema.js';
import type { BenchRecord } from './records.js';

type DB = Database.Database;

/**
 * The pragmas the collector runs with (WAL, synchronous=NORMAL: a commit survives a process
 * crash; the WAL is fsynced at checkpoints). Kept equal so the ceiling compares like with like.
 */
export const STORE_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'temp_store = MEMORY'];

/** A new store file with Warren's schema (every migration, as the collector would run them). */
export function createStore(file: string, pragmas: readonly string[] = STORE_PRAGMAS): DB {
  const db = new Database(file);
  for (const pragma of pragmas) db.pragma(pragma);
  const version = db.pragma('user_version', { simple: true }) as number;
  db.transaction(() => {
    for (let i = version; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i] ?? '');
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
  return db;
}

export interface Inserter {
  /** One transaction for the whole batch (INSERT OR IGNORE: the id is the dedupe key). */
  insertBatch(records: readonly BenchRecord[]): void;
  /** One autocommitted insert per record: what a per-message consumer does. */
  insertOne(record: BenchRecord): void;
}

/** Raw better-sqlite3 inserts into the records table (and its FTS index when `fts`). */
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
  const keyId = (routingKey: string): number => {
    const known = keyIds.get(routingKey);
    if (known !== undefined) return known;
    const row = selectKey.get(routingKey);
    const id = row !== undefined ? row.key_id : Number(insertKey.run(routingKey).lastInsertRowid);
    keyIds.set(routingKey, id);
    return id;
  };
  const one = ({ record, routingKey }: BenchRecord): void => {
    const result = insert.run(
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
    if (fts && result.changes > 0) insertFts.run(result.lastInsertRowid, record.msg);
  };
  const batch = db.transaction((records: readonly BenchRecord[]) => {
    for (const record of records) one(record);
  });
  return {
    insertBatch: (records) => batch(records),
    insertOne: (record) => db.transaction(() => one(record))(),
  };
}

/** Rows stored so far, read through a separate read-only connection as a query would. */
export function openReader(file: string): DB {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}
