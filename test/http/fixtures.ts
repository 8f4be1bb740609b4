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
import { createBatchWriter } from '../../collector/store/writer.js';

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
  const db = openDatabase(dbPath);
  const writer = createBatchWriter(db);
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
  const insert = (records: readonly TestRecord[]): number => writer.write(records.map(toStored)).lastSeq;
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
