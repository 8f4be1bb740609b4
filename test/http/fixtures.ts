import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Registry } from 'prom-client';
import { severityRank, type Severity } from '../../protocol/index.js';
import { buildApi, type Api, type ApiDeps } from '../../collector/http/app.js';
import type { CollectorStatus } from '../../collector/status.js';
import { MIGRATIONS } from '../../collector/store/schema.js';

/** A temp store written with plain SQL, as the collector would, plus an API reading it. */
export interface TestRecord {
  id?: string | null;
  ts: number;
  key: string;
  host?: string | null;
  app?: string | null;
  pid?: number | null;
  msg: string;
  fields?: Record<string, unknown> | null;
}

export interface TestStore {
  dir: string;
  dbPath: string;
  db: Database.Database;
  /** Inserts in one transaction, FTS included; returns the last seq. */
  insert(records: readonly TestRecord[]): number;
  cleanup(): void;
}

export function createTestStore(): TestStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-http-'));
  const dbPath = path.join(dir, 'warren.db');
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.transaction(() => {
    for (const sql of MIGRATIONS) db.exec(sql);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
  const insertKey = db.prepare('INSERT OR IGNORE INTO routing_keys (routing_key) VALUES (?)');
  const keyId = db.prepare('SELECT key_id FROM routing_keys WHERE routing_key = ?').pluck();
  const insertRecord = db.prepare(
    `INSERT INTO records (id, ts, key_id, facility, severity, host, app, pid, msg, fields)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertFts = db.prepare('INSERT INTO records_fts (rowid, msg) VALUES (?, ?)');
  let counter = 0;
  const insert = db.transaction((records: readonly TestRecord[]): number => {
    let last = 0;
    for (const r of records) {
      insertKey.run(r.key);
      const [facility = 'unknown', severity = 'notice'] = r.key.split('.');
      const info = insertRecord.run(
        r.id === undefined ? `t:${++counter}` : r.id,
        r.ts,
        keyId.get(r.key),
        facility,
        severityRank(severity as Severity) < 0 ? 5 : severityRank(severity as Severity),
        r.host ?? null,
        r.app ?? null,
        r.pid ?? null,
        r.msg,
        r.fields == null ? null : JSON.stringify(r.fields),
      );
      last = Number(info.lastInsertRowid);
      insertFts.run(last, r.msg);
    }
    return last;
  });
  return {
    dir,
    dbPath,
    db,
    insert: (records) => insert(records),
    cleanup: () => {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function fakeStatus(dbPath: string, over: Partial<CollectorStatus> = {}): CollectorStatus {
  return {
    brokerConnected: true,
    storeWritable: true,
    queue: 'logs.archive',
    queueDepth: 3,
    deadLetterDepth: 1,
    unroutedDepth: 2,
    ingestRate: 12.5,
    stored: 100,
    duplicates: 4,
    deadLettered: 1,
    dbPath,
    ...over,
  };
}

export interface TestApi {
  app: Api;
  events: EventEmitter;
  registry: Registry;
  status: CollectorStatus;
  logLines: string[];
}

/** Builds the API over a store; log lines are captured as JSON text so tests can inspect them. */
export async function createTestApi(store: TestStore, over: Partial<ApiDeps> = {}): Promise<TestApi> {
  const events = new EventEmitter();
  const registry = new Registry();
  const status = fakeStatus(store.dbPath);
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const app = await buildApi({
    dbPath: store.dbPath,
    events,
    status: () => status,
    registry,
    logger,
    ...over,
  });
  return { app, events, registry, status, logLines };
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
