import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import pino from 'pino';
import { Registry } from 'prom-client';
import { isSeverity, type StoredRecord } from '../../protocol/index.js';
import { buildApi, type Api, type ApiDeps } from '../../collector/http/app.js';
import type { CollectorStatus } from '../../collector/status.js';
import { openDatabase } from '../../collector/store/database.js';
import { openPgStore } from '../../collector/store/postgres/pg-store.js';
import { openPgQueryStore } from '../../collector/store/postgres/pg-query-store.js';
import type { QueryStore } from '../../collector/store/query.js';
import { inlineQueryStore } from '../../collector/store/read-pool.js';
import { openQueryStore } from '../../collector/store/sqlite-query-store.js';
import { createBatchWriter } from '../../collector/store/writer.js';
import { createPgSchema, runSql } from '../../testkit/postgres.js';

/**
 * Which store the API tests run on: SQLite (default) or PostgreSQL (WARREN_TEST_STORE=postgres,
 * the vitest project `postgres`): one suite, both stores.
 */
export const TEST_STORE: 'sqlite' | 'postgres' =
  process.env.WARREN_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** A temp store written through the collector's own writer, plus an API reading it. */
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
  readonly kind: 'sqlite' | 'postgres';
  dir: string;
  dbPath: string;
  /** The PostgreSQL store's URL (its own schema); null on SQLite. */
  storeUrl: string | null;
  /** The SQLite database (SQLite-only tests); throws on PostgreSQL. */
  readonly db: Database.Database;
  /** Inserts in one transaction, through the collector's own writer; returns the last seq. */
  insert(records: readonly TestRecord[]): Promise<number>;
  /** The store's reads as the API makes them (close it after). */
  reads(): Promise<QueryStore>;
  /** Empties the store as if it were made anew (seqs start again from 1). */
  recreate(): Promise<void>;
  /** Breaks the store's full-text index so a text query fails inside. */
  breakText(): Promise<void>;
  cleanup(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export async function createTestStore(kind: 'sqlite' | 'postgres' = TEST_STORE): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-http-'));
  const dbPath = path.join(dir, 'warren.db');
  let counter = 0;
  const toStored = (r: TestRecord): StoredRecord => {
    const [facility = 'unknown', severity = 'notice'] = r.key.split('.');
    const record: StoredRecord = {
      id: r.id === undefined ? `t:${++counter}` : r.id,
      ts: new Date(r.ts).toISOString(),
      facility,
      severity: isSeverity(severity) ? severity : 'notice',
      msg: r.msg,
      routing_key: r.key,
    };
    if (r.host != null) record.host = r.host;
    if (r.app != null) record.app = r.app;
    if (r.pid != null) record.pid = r.pid;
    if (r.fields != null) record.fields = r.fields;
    return record;
  };
  if (kind === 'postgres') {
    const schema = await createPgSchema('http');
    const ingest = await openPgStore(schema.url, { applicationName: 'warren test' }, silent);
    return {
      kind,
      dir,
      dbPath,
      storeUrl: schema.url,
      get db(): Database.Database {
        throw new Error('a SQLite-only test ran on the PostgreSQL store');
      },
      insert: async (records) => (await ingest.write(records.map(toStored))).lastSeq,
      reads: () => openPgQueryStore(schema.url, { connections: 2, timeoutMs: 30_000 }, silent),
      recreate: () => runSql(schema.url, 'TRUNCATE records, seq_blocks; ALTER SEQUENCE records_seq RESTART'),
      breakText: () => runSql(schema.url, 'ALTER TABLE records DROP COLUMN words'),
      cleanup: async () => {
        await ingest.close(silent);
        await schema.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = openDatabase(dbPath);
  const writer = createBatchWriter(db);
  return {
    kind,
    dir,
    dbPath,
    storeUrl: null,
    db,
    insert: (records) => Promise.resolve(writer.write(records.map(toStored)).lastSeq),
    reads: () => Promise.resolve(inlineQueryStore(openQueryStore(dbPath))),
    recreate: () => {
      db.exec("INSERT INTO records_fts (records_fts) VALUES ('delete-all'); DELETE FROM records;");
      return Promise.resolve();
    },
    breakText: () => {
      db.exec('DROP TABLE records_fts');
      return Promise.resolve();
    },
    cleanup: () => {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
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
    storeUrl: store.storeUrl,
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
