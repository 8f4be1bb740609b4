import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, severityRank, type StoredRecord } from '../../protocol/index.js';
import { parseRetentionRule } from '../../collector/config.js';
import { NEW_STORE_PAGE_SIZE, openDatabase, schemaVersion } from '../../collector/store/database.js';
import { isLine } from '../../collector/store/message-runs.js';
import { createRetention, ruleFor } from '../../collector/store/retention.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../collector/store/schema.js';
import { RUN_CHUNK, createBatchWriter, createFieldsEncoder } from '../../collector/store/writer.js';
import { checkpointIfLarge } from '../../collector/store/checkpoint.js';
import { COLUMNS, columnsOf, type Row } from '../../collector/store/rows.js';
import { createQueryStore } from '../../collector/store/sqlite-query-store.js';
import { captureLogger } from '../../testkit/log.js';
import { tempDir } from '../../testkit/temp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function store(): { dbPath: string; db: Database.Database } {
  const { dir, remove } = tempDir();
  const dbPath = path.join(dir, 'nested', 'warren.db');
  const db = openDatabase(dbPath);
  cleanups.push(() => {
    if (db.open) db.close();
    remove();
  });
  return { dbPath, db };
}

function record(
  id: string | null,
  routingKey: string,
  ts: number,
  msg: string,
  extra: Partial<StoredRecord> = {},
): StoredRecord {
  const [facility = 'app', severity = 'info'] = routingKey.split('.');
  return {
    id,
    ts: new Date(ts).toISOString(),
    facility,
    severity: severity as StoredRecord['severity'],
    msg,
    routing_key: routingKey,
    ...extra,
  };
}

const T0 = Date.parse('2026-11-21T00:00:00.000Z');

describe('store', () => {
  it('opens with WAL, creates the directory and runs every migration', () => {
    const { db } = store();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL: fsynced before the ack
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    // A new file gets 16 KiB pages, and the WAL is checkpointed at 16 MiB of them.
    expect(db.pragma('page_size', { simple: true })).toBe(NEW_STORE_PAGE_SIZE);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe((16 * 1024 * 1024) / NEW_STORE_PAGE_SIZE);
    // v3: one FTS segment per batch, merged sixteen at a time.
    expect(
      Object.fromEntries(
        db.prepare('SELECT k, v FROM records_fts_config').raw().all() as [string, unknown][],
      ),
    ).toMatchObject({ hashsize: 8388608, automerge: 16 });
  });

  it('inserts a batch with every column, its routing key and FTS row', () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const result = writer.write([
      record('a:1', 'kern.critical', T0, 'disk failure on sda', {
        host: 'web-01',
        app: 'api',
        pid: 4121,
        fields: { disk: 'sda' },
      }),
      record(null, 'kern.critical', T0 + 1, 'no id here'),
    ]);
    expect(result).toEqual({ stored: 2, duplicates: 0, lastSeq: 2, newestTs: T0 + 1 });
    const row = db
      .prepare('SELECT * FROM records r JOIN routing_keys k USING (key_id) WHERE id = ?')
      .get('a:1');
    expect(row).toMatchObject({
      seq: 1,
      ts: T0,
      routing_key: 'kern.critical',
      facility: 'kern',
      severity: 2,
      host: 'web-01',
      app: 'api',
      pid: 4121,
      msg: 'disk failure on sda',
      fields: '{"disk":"sda"}',
    });
    expect(db.prepare("SELECT rowid FROM records_fts WHERE records_fts MATCH 'sda'").pluck().all()).toEqual([
      1,
    ]);
    expect(db.prepare('SELECT count(*) FROM routing_keys').pluck().get()).toBe(1);
  });

  it('keeps one row per id: a redelivered batch is counted as duplicates and changes nothing', () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const batch = [record('x:1', 'app.info', T0, 'one'), record('x:2', 'app.info', T0, 'two')];
    writer.write(batch);
    const again = writer.write([...batch, record('x:3', 'app.info', T0, 'three')]);
    expect(again).toMatchObject({ stored: 1, duplicates: 2, lastSeq: 3 });
    expect(db.prepare('SELECT count(*) FROM records').pluck().get()).toBe(3);
    expect(db.prepare("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'one'").pluck().get()).toBe(
      1,
    );
  });

  it('indexes exactly the rows each batch stored, through duplicates, retention and new batches', async () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const day = 24 * 3600 * 1000;
    const now = T0 + 10 * day;
    const batch = (from: number, to: number, ts: number): StoredRecord[] =>
      Array.from({ length: to - from }, (_, i) =>
        record(`i:${from + i}`, 'app.info', ts, `word${from + i} common`),
      );
    writer.write(batch(0, 300, T0));
    // Half of this batch was stored already: only the new half may enter the index.
    expect(writer.write(batch(150, 450, now))).toMatchObject({ stored: 150, duplicates: 150 });
    const retention = createRetention(db, { rules: [parseRetentionRule('#=1d')], now: () => now });
    while ((await retention.runPass(5)).more);
    expect(writer.write(batch(450, 500, now))).toMatchObject({ stored: 50, duplicates: 0 });
    // FTS5 compares its index with the records table: throws on any missing or extra entry.
    expect(() =>
      db.exec("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 1)"),
    ).not.toThrow();
    const hits = db.prepare("SELECT rowid FROM records_fts WHERE records_fts MATCH 'common'").pluck().all();
    expect(hits).toEqual(db.prepare('SELECT seq FROM records ORDER BY seq').pluck().all());
    expect(hits).toHaveLength(200);
    expect(
      db.prepare("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'word460'").pluck().get(),
    ).toBe(1);
  });

  it('stores nothing of a batch whose transaction fails, and forgets routing keys it rolled back', () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    writer.write([record('k:0', 'app.info', T0, 'first')]);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const big = Array.from({ length: 2000 }, (_, i) => record(`k:${i + 1}`, 'new.key', T0, 'x'.repeat(500)));
    expect(() => writer.write(big)).toThrow(/full/);
    expect(db.prepare('SELECT count(*) FROM records').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM routing_keys').pluck().get()).toBe(1);
    db.pragma('max_page_count = 1073741823');
    expect(writer.write(big.slice(0, 3)).stored).toBe(3);
    const key = db.prepare("SELECT key_id FROM routing_keys WHERE routing_key = 'new.key'").pluck().get();
    expect(db.prepare('SELECT DISTINCT key_id FROM records WHERE id = ?').pluck().all('k:1')).toEqual([key]);
  });

  it('migrates a version-1 file with its records to the current schema', () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const dbPath = path.join(dir, 'v1.db');
    const old = new Database(dbPath);
    old.exec(MIGRATIONS[0] ?? '');
    old.pragma('user_version = 1');
    old.prepare("INSERT INTO routing_keys (key_id, routing_key) VALUES (1, 'kern.critical')").run();
    old
      .prepare(
        "INSERT INTO records (seq, id, ts, key_id, facility, severity, msg) VALUES (1, 'old:1', ?, 1, 'kern', 2, 'from v1')",
      )
      .run(T0);
    old.prepare("INSERT INTO records_fts (rowid, msg) VALUES (1, 'from v1')").run();
    old.close();

    const told: [number, number][] = [];
    const db = openDatabase(dbPath, { onMigrate: (from, to) => told.push([from, to]) });
    cleanups.push(() => db.close());
    expect(told).toEqual([[1, SCHEMA_VERSION]]);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    // A made file keeps its page size (changing it needs a VACUUM); the WAL bound stays 16 MiB.
    expect(db.pragma('page_size', { simple: true })).toBe(4096);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(4096);
    expect(db.prepare('SELECT msg FROM records WHERE id = ?').pluck().get('old:1')).toBe('from v1');
    // v2 rebuilt the FTS index without its size table, and the v1 record is still found by a word.
    expect(
      db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'records_fts_docsize'").pluck().get(),
    ).toBe(0);
    expect(db.prepare("SELECT rowid FROM records_fts WHERE records_fts MATCH 'v1'").pluck().all()).toEqual([
      1,
    ]);
    // v7: the time, key and host indexes end with the rowid alone (seq is the rowid).
    const indexColumns = db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck();
    expect(indexColumns.all('records_ts')).toEqual(['ts']);
    expect(indexColumns.all('records_key_ts')).toEqual(['key_id', 'ts']);
    expect(indexColumns.all('records_host_ts')).toEqual(['host', 'ts']);
    // v8: ids are unique through a partial index, and the column's automatic index (an entry for
    // every id-less record too) is gone; the copied table still feeds the FTS index.
    expect(
      db
        .prepare("SELECT name, \"unique\", partial FROM pragma_index_list('records') WHERE name LIKE '%id%'")
        .all(),
    ).toEqual([{ name: 'records_id', unique: 1, partial: 1 }]);
    // rank 1: the index is also compared with the content table's rows (throws if they differ).
    const checkFts = db.prepare("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 1)");
    expect(() => checkFts.run()).not.toThrow();
    const writer = createBatchWriter(db);
    expect(
      writer.write([
        record('old:1', 'kern.critical', T0, 'from v1'),
        record('new:1', 'kern.critical', T0, 'v'),
      ]),
    ).toMatchObject({
      stored: 1,
      duplicates: 1,
      lastSeq: 2,
    });
    expect(db.prepare('SELECT count(*) FROM routing_keys').pluck().get()).toBe(1);
  });

  it('writes a batch of 5,000 log-like records as one FTS segment, so nothing is merged at once', () => {
    const { db } = store();
    const batch = Array.from({ length: 5000 }, (_, n) =>
      record(
        `seg:${n}`,
        'app.info',
        T0 + n,
        `GET /api/v1/items/${n * 13} user=u${n * 7} session=s${(n * 7919).toString(36)} trace=t${(n * 104729).toString(36)} took ${n % 1000} ms bytes=${n * 17} client=c${n % 97} request ${n} token${n} shard${n % 13}`,
      ),
    );
    createBatchWriter(db).write(batch);
    // With FTS5's default 1 MiB hash this batch is flushed as three segments.
    expect(db.prepare('SELECT count(DISTINCT segid) FROM records_fts_idx').pluck().get()).toBe(1);
    expect(
      db.prepare("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'token4999'").pluck().get(),
    ).toBe(1);
  });

  it('refuses a store from a newer Warren with a clear error', () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const dbPath = path.join(dir, 'future.db');
    const future = new Database(dbPath);
    future.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    future.close();
    expect(() => openDatabase(dbPath)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.STORE_UNAVAILABLE,
        message: expect.stringContaining('newer') as unknown,
      }),
    );
  });
});

describe('fields encoder', () => {
  it('gives JSON.stringify’s text for every object, reusing it only for equal flat fields', () => {
    const encode = createFieldsEncoder();
    const shared = { sender: '10.0.0.1', port: 514 };
    const sequence: (Record<string, unknown> | undefined)[] = [
      { sender: '10.0.0.1', port: 514 },
      { sender: '10.0.0.1', port: 514 },
      shared,
      { port: 514, sender: '10.0.0.1' },
      { sender: '10.0.0.1' },
      { sender: '10.0.0.1', port: 514, extra: null },
      { sender: '10.0.0.2', port: 514 },
      undefined,
      { nested: { a: 1 } },
      { nested: { a: 1 } },
      {},
      {},
      { n: -0 },
      { n: 0 },
      { n: Number.NaN },
      { n: Number.NaN },
      { 2: 'b', 1: 'a' },
      { 1: 'a', 2: 'b' },
    ];
    for (const fields of sequence) {
      expect(encode(fields)).toBe(fields === undefined ? null : JSON.stringify(fields));
    }
    // The object its text was made from changes afterwards: the next equal-looking one is not fooled.
    shared.port = 515;
    expect(encode({ sender: '10.0.0.2', port: 514 })).toBe('{"sender":"10.0.0.2","port":514}');
    const reused = { sender: '10.0.0.2', port: 514 };
    encode(reused);
    reused.port = 9;
    expect(encode({ sender: '10.0.0.2', port: 9 })).toBe('{"sender":"10.0.0.2","port":9}');
  });
});

describe('retention', () => {
  it('the first matching rule decides, unmatched keys are kept', () => {
    const rules = ['*.debug=1d', 'kern.*=7d', '*.error+=90d', '#=30d'].map(parseRetentionRule);
    expect(ruleFor(rules, 'kern.debug')?.source).toBe('*.debug');
    expect(ruleFor(rules, 'kern.info')?.source).toBe('kern.*');
    expect(ruleFor(rules, 'app.critical')?.source).toBe('*.error+');
    expect(ruleFor(rules, 'app.info')?.source).toBe('#');
    expect(ruleFor(rules.slice(0, 2), 'app.info')).toBeUndefined();
    // Keys in other spellings are selected as the API selects them (CONTRACT §3).
    expect(ruleFor(rules, 'app.TRACE')?.source).toBe('*.debug');
    expect(ruleFor(rules, 'KERN.Crit')?.source).toBe('kern.*');
    expect(ruleFor(rules, 'local3.err')?.source).toBe('*.error+');
    expect(ruleFor(rules, 'app.verbose')?.source).toBe('#');
    expect(ruleFor(rules.slice(0, 3), 'app.verbose')).toBeUndefined();
    expect(() => parseRetentionRule('*.debug')).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_USAGE }),
    );
    expect(() => parseRetentionRule('kern..x=1d')).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_PATTERN }),
    );
    expect(() => parseRetentionRule('*.debug=soon')).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_DURATION }),
    );
  });

  it('deletes exactly the expired records (and their FTS rows) in small steps', async () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const day = 86_400_000;
    const now = T0 + 100 * day;
    const rows: StoredRecord[] = [];
    // Per key, records aged 0.5 .. 49.5 days, 10 per day.
    for (const key of ['app.debug', 'kern.info', 'app.info', 'auth.warning']) {
      for (let i = 0; i < 500; i++)
        rows.push(record(`${key}:${i}`, key, now - (i + 0.5) * (day / 10) * 1, `word${i % 7} ${key}`));
    }
    writer.write(rows);
    const rules = ['*.debug=1d', 'kern.*=7d', 'app.*=30d'].map(parseRetentionRule);
    const retention = createRetention(db, { rules, now: () => now, rowsPerStep: 7 });
    let pass = await retention.runPass(5);
    expect(pass.more).toBe(true);
    expect(pass.deleted).toBe(35);
    while (pass.more) pass = await retention.runPass(5);

    const ages = (key: string): number[] =>
      (
        db
          .prepare('SELECT ts FROM records JOIN routing_keys USING (key_id) WHERE routing_key = ?')
          .pluck()
          .all(key) as number[]
      ).map((ts) => now - ts);
    expect(ages('app.debug').every((age) => age < day)).toBe(true);
    expect(ages('app.debug')).toHaveLength(10);
    expect(ages('kern.info')).toHaveLength(70);
    expect(ages('app.info')).toHaveLength(300);
    expect(ages('auth.warning')).toHaveLength(500); // no rule matches: kept
    // The FTS index lost exactly the deleted rows.
    const total = db.prepare('SELECT count(*) FROM records').pluck().get() as number;
    expect(total).toBe(10 + 70 + 300 + 500);
    const fts = db.prepare("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'word3'").pluck().get();
    const plain = db.prepare("SELECT count(*) FROM records WHERE msg LIKE 'word3 %'").pluck().get();
    expect(fts).toBe(plain);
    expect(() =>
      db.prepare("INSERT INTO records_fts (records_fts) VALUES ('integrity-check')").run(),
    ).not.toThrow();
    // A second pass finds nothing more.
    expect(await retention.runPass()).toEqual({ deleted: 0, more: false });
  });
});

describe('retention and seq', () => {
  it('never deletes the newest record, so seq values are never reused', async () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const day = 86_400_000;
    writer.write([record('s:1', 'app.debug', T0, 'a'), record('s:2', 'app.debug', T0 + 1, 'b')]);
    const retention = createRetention(db, { rules: [parseRetentionRule('#=1d')], now: () => T0 + 10 * day });
    expect(await retention.runPass()).toEqual({ deleted: 1, more: false });
    expect(db.prepare('SELECT seq FROM records').pluck().all()).toEqual([2]);
    expect(createBatchWriter(db).write([record('s:3', 'app.debug', T0 + 10 * day, 'c')]).lastSeq).toBe(3);
  });
});

describe('WAL checkpoints', () => {
  it('truncates a WAL that outgrew its bound, even with a reader connection open', () => {
    const { db, dbPath } = store();
    const { logger, lines } = captureLogger();
    db.pragma('wal_autocheckpoint = 0');
    const writer = createBatchWriter(db);
    writer.write(
      Array.from({ length: 2000 }, (_, i) => record(`w:${i}`, 'app.info', T0, `row ${i} ${'x'.repeat(200)}`)),
    );
    const reader = new Database(dbPath, { readonly: true });
    expect(reader.prepare('SELECT count(*) FROM records').pluck().get()).toBe(2000);
    expect(statSync(`${dbPath}-wal`).size).toBeGreaterThan(100_000);
    expect(checkpointIfLarge(db, dbPath, logger, 1_000_000_000)).toBe(false);
    expect(checkpointIfLarge(db, dbPath, logger, 100_000)).toBe(true);
    expect(statSync(`${dbPath}-wal`).size).toBe(0);
    expect(lines().some((line) => line.msg === 'checkpointed a large WAL')).toBe(true);
    expect(reader.prepare('SELECT count(*) FROM records').pluck().get()).toBe(2000);
    reader.close();
  });
});

describe('message runs (schema v6)', () => {
  const ids = (db: Database.Database): (string | null)[] =>
    (db.prepare(`SELECT ${COLUMNS} FROM records r ORDER BY r.seq`).all() as Row[]).map((row) => row.id);
  const message = (prefix: string, lines: number[], key = 'app.info'): StoredRecord[] =>
    lines.map((n) => record(`${prefix}:${n}`, key, T0 + n, `${prefix} line ${n}`));
  /** Line numbers 0 … count-1 of one message. */
  const lines = (count: number): number[] => Array.from({ length: count }, (_, n) => n);

  it('stores a message’s records as one run without their ids, and reads every id back', () => {
    const { db, dbPath } = store();
    const writer = createBatchWriter(db);
    expect(
      writer.write([...message('web-01:ab:0', [0, 1, 2, 3, 4]), ...message('web-01:ab:5', [0, 1])]),
    ).toMatchObject({ stored: 7, duplicates: 0, lastSeq: 7 });
    expect(db.prepare('SELECT count(*) FROM records WHERE id IS NOT NULL').pluck().get()).toBe(0);
    expect(
      db.prepare('SELECT first_seq, last_seq, message_id FROM messages ORDER BY first_seq').raw().all(),
    ).toEqual([
      [1, 5, 'web-01:ab:0'],
      [6, 7, 'web-01:ab:5'],
    ]);
    expect(ids(db)).toEqual([
      'web-01:ab:0:0',
      'web-01:ab:0:1',
      'web-01:ab:0:2',
      'web-01:ab:0:3',
      'web-01:ab:0:4',
      'web-01:ab:5:0',
      'web-01:ab:5:1',
    ]);
    // /api/logs/context finds a record by the id it was read with.
    const reads = createQueryStore(new Database(dbPath, { readonly: true }), dbPath);
    cleanups.push(() => reads.close());
    expect(reads.context('web-01:ab:0:3', 1, 1, 'all')).toMatchObject({
      before: [{ record: { id: 'web-01:ab:0:2' } }],
      record: { record: { id: 'web-01:ab:0:3', msg: 'web-01:ab:0 line 3' } },
      after: [{ record: { id: 'web-01:ab:0:4' } }],
    });
    expect(reads.context('web-01:ab:0:5', 1, 1, 'all')).toBeNull();
    expect(reads.context('web-01:ab:0', 1, 1, 'all')).toBeNull();
  });

  it('dedupes per record id: a redelivered message, a longer one, and ids stored in their rows', () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    writer.write(message('m', [0, 1, 2]));
    expect(writer.write(message('m', [0, 1, 2]))).toMatchObject({ stored: 0, duplicates: 3, lastSeq: 3 });
    // The same message id with more lines (a foreign publisher reusing it): only the new lines are new.
    expect(writer.write(message('m', [0, 1, 2, 3, 4]))).toMatchObject({ stored: 2, duplicates: 3 });
    expect(ids(db)).toEqual(['m:0', 'm:1', 'm:2', 'm:3', 'm:4']);
    expect(db.prepare('SELECT id FROM records WHERE id IS NOT NULL ORDER BY seq').pluck().all()).toEqual([
      'm:3',
      'm:4',
    ]);
    // A run's id arriving on its own is a duplicate too, and so is one held in its row.
    expect(
      writer.write([record('m:1', 'app.info', T0, 'again'), record('m:4', 'app.info', T0, 'again')]),
    ).toMatchObject({ stored: 0, duplicates: 2 });
    expect(db.prepare('SELECT count(*) FROM records').pluck().get()).toBe(5);
  });

  it('keeps the ids of a broken run and of records between runs exact', () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    // Line 2 was rejected (dead-lettered), so line 3 cannot be read from its place in the run.
    const broken = [
      ...message('b', [0, 1, 3]),
      record(null, 'app.info', T0, 'no id'),
      record('own', 'app.info', T0, 'own id'),
    ];
    expect(writer.write([...broken, ...message('c', [0, 1])])).toMatchObject({ stored: 7, duplicates: 0 });
    expect(ids(db)).toEqual(['b:0', 'b:1', 'b:3', null, 'own', 'c:0', 'c:1']);
    expect(writer.write(broken.filter((r) => r.id !== null))).toMatchObject({ stored: 0, duplicates: 4 });
  });

  it(`stores runs ${RUN_CHUNK} records to an insert: every id, column and FTS row exact across chunks and interruptions`, () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const batch = [
      // Two chunks and a rest, then a record with its own id and an id-less one cut the held rows short.
      ...message('a', lines(2 * RUN_CHUNK + 7), 'kern.critical'),
      record('own', 'app.info', T0, 'own line'),
      ...message('b', lines(RUN_CHUNK - 1)),
      record(null, 'app.info', T0, 'idless line'),
      ...message('c', lines(RUN_CHUNK + 1), 'kern.critical'),
    ];
    const expected = batch.map((r) => r.id);
    expect(writer.write(batch)).toMatchObject({ stored: batch.length, duplicates: 0, lastSeq: batch.length });
    expect(ids(db)).toEqual(expected);
    const columns = db.prepare(
      'SELECT r.msg, k.routing_key, r.ts, r.facility, r.severity FROM records r JOIN routing_keys k ON k.key_id = r.key_id ORDER BY r.seq',
    );
    expect(columns.raw().all()).toEqual(
      batch.map((r) => [r.msg, r.routing_key, Date.parse(r.ts), r.facility, severityRank(r.severity)]),
    );
    const hits = db.prepare("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'line'").pluck();
    expect(hits.get()).toBe(batch.length);
    // The same batch again with one more message: that message is new, and so is the id-less record
    // (the writer has no id to know it by; the redelivery ledger keeps such messages from doubling).
    expect(writer.write([...batch, ...message('d', lines(RUN_CHUNK))])).toMatchObject({
      stored: RUN_CHUNK + 1,
      duplicates: batch.length - 1,
      lastSeq: batch.length + RUN_CHUNK + 1,
    });
    expect(hits.get()).toBe(batch.length + RUN_CHUNK + 1);
  });

  it('keeps nothing of a batch whose chunk breaks a constraint midway, and goes on from where it was', () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    writer.write(message('a', lines(3)));
    // An unreadable time is bound as NULL (NaN), so the chunk's 31st row fails ts NOT NULL: the
    // chunk's insert (OR FAIL, no statement journal) stops there and the batch's transaction rolls back.
    const broken = message('b', lines(RUN_CHUNK + 5));
    broken[30] = { ...broken[30]!, ts: 'not a time' };
    expect(() => writer.write(broken)).toThrow(/NOT NULL/);
    const count = db.prepare('SELECT count(*) FROM records').pluck();
    const hits = db.prepare("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'line'").pluck();
    expect(count.get()).toBe(3);
    expect(hits.get()).toBe(3);
    const good = message('c', lines(RUN_CHUNK + 1));
    expect(writer.write(good)).toMatchObject({ stored: RUN_CHUNK + 1, lastSeq: RUN_CHUNK + 4 });
    expect(ids(db)).toEqual([...message('a', lines(3)), ...good].map((r) => r.id));
    expect(hits.get()).toBe(RUN_CHUNK + 4);
  });

  it('knows a run’s next id in place exactly when it is `<prefix>:<line>`', () => {
    const ids = [
      'm:0',
      'm:1',
      'm:01',
      'm:10',
      'm:1x',
      'm:',
      'm1',
      'n:1',
      'm::1',
      'm:-1',
      'm:1.0',
      'm: 1',
      'mm:1',
    ];
    for (const prefix of ['m', 'm:', 'mm']) {
      for (const line of [0, 1, 10]) {
        for (const id of ids)
          expect([id, prefix, line, isLine(id, prefix, line)]).toEqual([
            id,
            prefix,
            line,
            id === `${prefix}:${line}`,
          ]);
      }
    }
    expect(isLine(`m:${'9'.repeat(16)}`, 'm', 1e16)).toBe(false);
  });

  it('dedupes against ids an older Warren stored in their rows', () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const dbPath = path.join(dir, 'v5.db');
    const old = new Database(dbPath);
    for (const sql of MIGRATIONS.slice(0, 5)) old.exec(sql);
    old.pragma('user_version = 5');
    old.prepare("INSERT INTO routing_keys (key_id, routing_key) VALUES (1, 'app.info')").run();
    const insert = old.prepare(
      "INSERT INTO records (seq, id, ts, key_id, facility, severity, msg) VALUES (?, ?, ?, 1, 'app', 6, 'old')",
    );
    insert.run(1, 'm:0', T0);
    insert.run(2, 'm:1', T0);
    // `logcollect migrate` reads a file it does not migrate: every id is in its row.
    expect((old.prepare(`SELECT ${columnsOf(old)} FROM records r`).all() as Row[]).map((r) => r.id)).toEqual([
      'm:0',
      'm:1',
    ]);
    old.close();
    const db = openDatabase(dbPath);
    cleanups.push(() => db.close());
    // Redelivered after the upgrade: already stored, though not as a run.
    expect(createBatchWriter(db).write(message('m', [0, 1, 2]))).toMatchObject({ stored: 1, duplicates: 2 });
    expect(ids(db)).toEqual(['m:0', 'm:1', 'm:2']);
  });

  it('retention forgets a run once none of its records is left, and keeps a partly deleted one readable', async () => {
    const { db } = store();
    const writer = createBatchWriter(db);
    const day = 86_400_000;
    const now = T0 + 10 * day;
    const aged = (prefix: string, ages: number[]): StoredRecord[] =>
      ages.map((age, n) => record(`${prefix}:${n}`, 'app.info', now - age * day, `${prefix} ${n}`));
    writer.write([...aged('old', [5, 5, 5]), ...aged('half', [5, 0, 0]), ...aged('new', [0, 0])]);
    const retention = createRetention(db, {
      rules: [parseRetentionRule('#=1d')],
      now: () => now,
      rowsPerStep: 2,
    });
    while ((await retention.runPass()).more);
    expect(db.prepare('SELECT message_id FROM messages ORDER BY first_seq').pluck().all()).toEqual([
      'half',
      'new',
    ]);
    expect(ids(db)).toEqual(['half:1', 'half:2', 'new:0', 'new:1']);
  });
});
