/**
 * The collector owner's own measurements (the proof helper's `npm run bench` owns the official ones):
 *   node <build>/test/collector/measure.js fts [records]            writer rate and size: no FTS, FTS detail=none/column/full, with and without columnsize
 *   node <build>/test/collector/measure.js indexes [records]        writer rate and size: the indexes as shipped, with the id column UNIQUE (v1–v7), with seq named (v1–v6)
 *   node <build>/test/collector/measure.js drain [records] [per]    bin/logcollect draining a pre-filled queue: records/s, peak RSS
 *   node <build>/test/collector/measure.js latency [rate] [seconds] [per]  publish-to-queryable p50/p99 at a steady rate
 *   node <build>/test/collector/measure.js instructions [records]  the writer's instructions per record under valgrind
 *     (callgrind): inside SQLite, and with the binding of values; the same for the same code, where CPU
 *     time moves ±20% between runs on this machine. Needs valgrind (apt).
 *   node <build>/test/collector/measure.js alternate <buildA> <buildB> [records] [rounds]  two builds'
 *     writers in one process, taking turns per 5,000-record batch on stores of their own: CPU s per
 *     100k each, per round (the machine's state hits both alike).
 * Build first: `npx tsc -p tsconfig.json --outDir <build>` (bin/logcollect.js itself needs `npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pino from 'pino';
import { createCollector } from '../../collector/collector.js';
import { openDatabase } from '../../collector/store/database.js';
import { createBatchWriter } from '../../collector/store/writer.js';
import { decodeMessage, encodeBatch, type LogRecord, type StoredRecord } from '../../protocol/index.js';
import { collectorArgs, countRows, fixture, readStore } from './helpers.js';
import { publish, type Published } from '../../testkit/broker.js';
import { runBin, stopBin } from '../../testkit/processes.js';
import { tempDir } from '../../testkit/temp.js';
import { waitUntil } from '../../testkit/wait.js';
import { RECORD_ID_SQL } from '../../collector/store/message-runs.js';
import { MIGRATIONS } from '../../collector/store/schema.js';

const [command = 'fts', a, b, c] = process.argv.slice(2);
const WORDS =
  'disk failure on sda user login accepted connection reset by peer request served cache miss timeout waiting'.split(
    ' ',
  );
const KEYS = ['kern.critical', 'app.info', 'auth.warning', 'daemon.debug', 'web.error', 'web.info'];

function wireRecord(prefix: string, n: number): LogRecord {
  const w = (k: number): string => WORDS[(n * k + Math.floor(n / 3)) % WORDS.length] ?? 'x';
  return {
    id: `${prefix}:${n}`,
    ts: new Date().toISOString(),
    host: `web-0${n % 5}`,
    app: 'api',
    pid: 4121,
    msg: `${w(7)} ${w(3)} ${w(11)} request ${n} took ${n % 997} ms`,
    fields: { n: n % 100, disk: 'sda' },
  };
}

function messages(prefix: string, count: number, per: number): Published[] {
  const out: Published[] = [];
  for (let start = 0; start < count; start += per) {
    const records: LogRecord[] = [];
    for (let n = start; n < Math.min(count, start + per); n++) records.push(wireRecord(prefix, n));
    out.push({
      key: KEYS[(start / per) % KEYS.length] ?? 'app.info',
      body: per === 1 ? JSON.stringify(records[0]) : encodeBatch(records),
      options: {
        contentType: per === 1 ? 'application/json' : 'application/x-ndjson',
        messageId: `${prefix}-${start}`,
      },
    });
  }
  return out;
}

function measureFts(count: number): void {
  const decoded: StoredRecord[] = [];
  for (const m of messages('fts', count, 100)) {
    decoded.push(
      ...decodeMessage({
        routingKey: m.key,
        content: Buffer.from(m.body),
        contentType: m.options?.contentType,
      }).records,
    );
  }
  measureWriter(decoded, [
    ['FTS detail=none, columnsize=0 (shipped)', null],
    [
      'FTS detail=none (schema v1)',
      "DROP TABLE records_fts; CREATE VIRTUAL TABLE records_fts USING fts5(msg, content='records', content_rowid='seq', detail='none');",
    ],
    [
      'no FTS',
      'DROP TABLE records_fts; CREATE TABLE records_fts (rowid INTEGER, msg TEXT); CREATE TRIGGER no_fts BEFORE INSERT ON records_fts BEGIN SELECT RAISE(IGNORE); END;',
    ],
    [
      'FTS detail=column',
      "DROP TABLE records_fts; CREATE VIRTUAL TABLE records_fts USING fts5(msg, content='records', content_rowid='seq', detail='column');",
    ],
    [
      'FTS detail=full',
      "DROP TABLE records_fts; CREATE VIRTUAL TABLE records_fts USING fts5(msg, content='records', content_rowid='seq');",
    ],
  ]);
}

/**
 * Records as issue 15's syslog burst stores them: messages of 60 lines (ids `<message_id>:<n>`,
 * stored as runs) over 85 routing keys and 7 hosts, ~100-byte messages.
 */
function syslogLikeRecords(count: number, start = Date.now()): StoredRecord[] {
  const facilities =
    'kern user mail daemon auth syslog lpr news uucp cron authpriv ftp local0 local1 local2 local3 local4'.split(
      ' ',
    );
  const severities = ['critical', 'error', 'warning', 'notice', 'info'] as const;
  const out: StoredRecord[] = [];
  for (let n = 0; n < count; n++) {
    // A message holds one key's lines in a row, as the collector receives them.
    const message = Math.floor(n / 60);
    const key = message % 85;
    const facility = facilities[key % facilities.length] ?? 'user';
    const severity = severities[Math.floor(key / facilities.length)] ?? 'info';
    out.push({
      id: `web-${message % 7}:${message}:${n % 60}`,
      ts: new Date(start + Math.floor(n / 70)).toISOString(),
      facility,
      severity,
      host: `web-${message % 7}`,
      app: 'app',
      pid: 1000 + (n % 50),
      msg: `session ${n % 977} opened for user u${n % 313} from 10.0.${n % 255}.${n % 7} port ${40000 + (n % 20000)} request ${n} took ${n % 1000} ms`,
      fields: { sender: '127.0.0.1' },
      routing_key: `${facility}.${severity}`,
    });
  }
  return out;
}

function measureIndexes(count: number): void {
  measureWriter(syslogLikeRecords(count), [
    ['shipped (v8)', null],
    [
      'id UNIQUE on the column: an entry per id-less record too (v1-v7)',
      // The store as v7 made it: every table dropped, then the migrations up to v7.
      `DROP TABLE records_fts; DROP TABLE records; DROP TABLE routing_keys; DROP TABLE bindings;
       DROP TABLE unsettled_messages; DROP TABLE messages; ${MIGRATIONS.slice(0, 7).join('\n')}`,
    ],
    [
      '(ts, seq), (key_id, ts, seq), (host, ts, seq) (v1-v6)',
      'DROP INDEX records_ts; DROP INDEX records_key_ts; DROP INDEX records_host_ts; CREATE INDEX records_ts ON records(ts, seq); CREATE INDEX records_key_ts ON records(key_id, ts, seq); CREATE INDEX records_host_ts ON records(host, ts, seq) WHERE host IS NOT NULL;',
    ],
  ]);
}

/** The writer alone, one fresh store per variant (SQL run on it first; null: as shipped), interleaved rounds. */
function measureWriter(decoded: readonly StoredRecord[], variants: [string, string | null][]): void {
  const count = decoded.length;
  const run = (sql: string | null): { rate: number; cpu: number; bytes: number; written: number } => {
    const { dir, remove } = tempDir();
    const db = openDatabase(path.join(dir, 'w.db'));
    if (sql !== null) db.exec(sql);
    const writer = createBatchWriter(db);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const writtenBefore = bytesWritten();
    for (let i = 0; i < decoded.length; i += 5000) writer.write(decoded.slice(i, i + 5000));
    const cpuUsed = process.cpuUsage(cpuBefore);
    const written = bytesWritten() - writtenBefore;
    const seconds = (performance.now() - started) / 1000;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes =
      (db.pragma('page_count', { simple: true }) as number) *
      (db.pragma('page_size', { simple: true }) as number);
    db.close();
    remove();
    return {
      rate: count / seconds,
      cpu: (cpuUsed.user + cpuUsed.system) / 1e6 / (count / 1e5),
      bytes,
      written: written / (count / 1e5),
    };
  };
  run(null); // warm-up
  // Interleaved rounds, median per variant: the machine is shared, so load drifts between runs.
  const results = new Map<string, { rates: number[]; cpus: number[]; bytes: number; written: number }>();
  for (let round = 0; round < 3; round++) {
    for (const [label, sql] of variants) {
      const { rate, cpu, bytes, written } = run(sql);
      const entry = results.get(label) ?? { rates: [], cpus: [], bytes, written };
      entry.rates.push(rate);
      entry.cpus.push(cpu);
      results.set(label, entry);
    }
  }
  for (const [label, { rates, cpus, bytes, written }] of results) {
    const median = [...rates].sort((x, y) => x - y)[1] ?? NaN;
    console.log(
      `${label.padEnd(40)} ${Math.round(median).toString().padStart(8)} records/s median (${rates.map((r) => Math.round(r / 1000)).join(', ')} k)  CPU s per 100k ${cpus.map((c) => c.toFixed(2)).join(', ')}  ${(bytes / 1e6).toFixed(1)} MB  written ${(written / 1e6).toFixed(1)} MB per 100k`,
    );
  }
}

/**
 * syslogLikeRecords from a fixed start, so every run writes the same records, and through JSON, as
 * the collector decodes them: flat strings, where the template-built ones would be flattened when bound.
 */
function fixedSyslogLikeRecords(count: number): StoredRecord[] {
  return JSON.parse(JSON.stringify(syslogLikeRecords(count, Date.UTC(2026, 0, 1)))) as StoredRecord[];
}

/** The shipped writer over syslog-like records once, 5,000 a transaction (what `instructions` counts). */
function writeOnce(count: number): void {
  const decoded = fixedSyslogLikeRecords(count);
  const { dir, remove } = tempDir();
  const db = openDatabase(path.join(dir, 'w.db'));
  const writer = createBatchWriter(db);
  for (let i = 0; i < decoded.length; i += 5000) writer.write(decoded.slice(i, i + 5000));
  db.close();
  remove();
}

/** Instructions per record the writer runs inside `fn` (a callgrind toggle), counted by valgrind. */
function instructionsIn(fn: string, count: number): number {
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      `--toggle-collect=${fn}`,
      '--callgrind-out-file=/dev/null',
      process.execPath,
      self,
      'write-once',
      String(count),
    ],
    { encoding: 'utf8' },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr);
  if (run.error !== undefined || collected === null)
    throw new Error(
      `valgrind did not count (is it installed? apt-get install valgrind): ${run.error?.message ?? run.stderr.slice(-300)}`,
    );
  return Number(collected[1]) / count;
}

function measureInstructions(count: number): void {
  const sqlite = instructionsIn('sqlite3_step', count);
  const withBinding = instructionsIn('*JS_run*', count);
  console.log(
    `writer, ${count} syslog-like records: ${Math.round(sqlite)} instructions per record inside SQLite, ${Math.round(withBinding)} with binding the values`,
  );
}

interface WriterModules {
  openDatabase: typeof openDatabase;
  createBatchWriter: typeof createBatchWriter;
}

async function measureAlternate(builds: string[], count: number, rounds: number): Promise<void> {
  const writers = await Promise.all(
    builds.map(async (build): Promise<WriterModules> => {
      const base = path.resolve(build, 'collector/store');
      const database = (await import(path.join(base, 'database.js'))) as WriterModules;
      const writer = (await import(path.join(base, 'writer.js'))) as WriterModules;
      return { openDatabase: database.openDatabase, createBatchWriter: writer.createBatchWriter };
    }),
  );
  const decoded = fixedSyslogLikeRecords(count);
  const perRound = builds.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    const stores = writers.map((modules) => {
      const { dir, remove } = tempDir();
      const db = modules.openDatabase(path.join(dir, 'w.db'));
      return { db, remove, writer: modules.createBatchWriter(db), micros: 0 };
    });
    for (let i = 0; i < decoded.length; i += 5000) {
      const batch = decoded.slice(i, i + 5000);
      // Who goes first alternates too: the second writer meets a warmer cache.
      const order = (i / 5000) % 2 === 0 ? stores : [...stores].reverse();
      for (const store of order) {
        const before = process.cpuUsage();
        store.writer.write(batch);
        const used = process.cpuUsage(before);
        store.micros += used.user + used.system;
      }
    }
    stores.forEach((store, index) => {
      store.db.close();
      store.remove();
      perRound[index]?.push(store.micros / 1e6 / (count / 1e5));
    });
  }
  builds.forEach((build, index) =>
    console.log(
      `${build}: CPU s per 100k per round ${(perRound[index] ?? []).map((s) => s.toFixed(3)).join(' ')}`,
    ),
  );
}

/** Bytes this process has passed to write(2) and its kind so far (WAL frames, checkpoints): the same for the same work, unlike CPU time on a shared machine. */
function bytesWritten(): number {
  return Number(/^wchar: (\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
}

function rssOf(pid: number | undefined): number {
  try {
    const match = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(match?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

async function measureDrain(count: number, per: number): Promise<void> {
  const f = await fixture('measure-drain');
  try {
    const args = collectorArgs(f, '--log-level', 'warn');
    const declare = runBin('logcollect', args);
    await waitUntil('declared', async () => {
      const channel = await f.connection.createChannel();
      channel.on('error', () => undefined);
      const ok = await channel.checkQueue(`${f.exchange}.archive`).then(
        () => true,
        () => false,
      );
      await channel.close().catch(() => undefined);
      return ok;
    });
    await stopBin(declare);
    const all = messages('drain', count, per);
    for (let i = 0; i < all.length; i += 5000)
      await publish(f.connection, f.exchange, all.slice(i, i + 5000));
    const collector = runBin('logcollect', args);
    let first: { at: number; rows: number } | null = null;
    const maxSeq = (): number => {
      try {
        const db = readStore(f.dbPath);
        const seq = db.prepare('SELECT coalesce(max(seq), 0) FROM records').pluck().get() as number;
        db.close();
        return seq;
      } catch {
        return 0;
      }
    };
    for (;;) {
      const seq = maxSeq();
      if (first === null && seq > 0) first = { at: performance.now(), rows: seq };
      if (seq >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const start = first ?? { at: performance.now(), rows: 0 };
    const rate = (count - start.rows) / ((performance.now() - start.at) / 1000);
    const rss = rssOf(collector.child.pid);
    await stopBin(collector);
    console.log(
      `drain ${count} records, ${per} per message: ${Math.round(rate)} records/s (first commit to last), peak RSS ${rss.toFixed(0)} MiB`,
    );
    console.log(countRows(f.dbPath));
  } finally {
    await f.cleanup();
  }
}

async function measureLatency(rate: number, seconds: number, per: number): Promise<void> {
  const f = await fixture('measure-latency');
  const collector = createCollector(f.config({ lingerMs: 50, pollMs: 1000 }), {
    logger: pino({ level: 'warn' }),
  });
  await collector.start();
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  const reader = readStore(f.dbPath);
  const since = reader.prepare(`SELECT ${RECORD_ID_SQL} FROM records r WHERE seq > ? AND seq <= ?`).pluck();
  let seen = 0;
  collector.events.on('stored', ({ lastSeq }: { lastSeq: number }) => {
    // Queryable = visible to a separate read connection, as the HTTP API sees it.
    const now = performance.now();
    for (const id of since.all(seen, lastSeq) as string[]) {
      const at = sent.get(id);
      if (at !== undefined) latencies.push(now - at);
    }
    seen = lastSeq;
  });
  const channel = await f.connection.createConfirmChannel();
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const batch = messages(`lat${n}`, perTick, per);
    const at = performance.now();
    for (let i = 0; i < perTick; i++) sent.set(`lat${n}:${i}`, at);
    for (const m of batch) {
      channel.publish(f.exchange, m.key, Buffer.from(m.body), { persistent: true, ...m.options });
    }
    n++;
    const next = started + n * tickMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  await channel.waitForConfirms();
  await waitUntil('all stored', () => latencies.length >= sent.size * 0.999, 30_000).catch(() => undefined);
  latencies.sort((x, y) => x - y);
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  console.log(
    `${rate} records/s for ${seconds}s (${per} per message): ${latencies.length}/${sent.size} seen, p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${pct(100).toFixed(0)} ms`,
  );
  await collector.close();
  reader.close();
  await f.cleanup();
}

if (command === 'fts') measureFts(Number(a ?? 300_000));
else if (command === 'indexes') measureIndexes(Number(a ?? 300_000));
else if (command === 'drain') await measureDrain(Number(a ?? 400_000), Number(b ?? 500));
else if (command === 'instructions') measureInstructions(Number(a ?? 50_000));
else if (command === 'alternate')
  await measureAlternate([a ?? '', b ?? ''], Number(c ?? 300_000), Number(process.argv[6] ?? 4));
else if (command === 'write-once') writeOnce(Number(a ?? 50_000));
else if (command === 'latency') await measureLatency(Number(a ?? 10_000), Number(b ?? 20), Number(c ?? 1));
else
  console.error(`unknown command '${command}': fts | indexes | drain | latency | instructions | alternate`);
