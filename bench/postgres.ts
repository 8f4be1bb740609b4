import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pino from 'pino';
import { from as copyFrom } from 'pg-copy-streams';
import { isSeverity, severityRank, type StoredRecord } from '../protocol/index.js';
import { openPgStore } from '../collector/store/postgres/pg-store.js';
import { indexWords } from '../collector/store/postgres/words.js';
import { createPgSchema } from '../testkit/postgres.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { makeRecords } from './lib/records.js';
import { generatePgQueryStore } from './lib/pg-synthetic.js';
import { StoreReader, startAgent, startCollector, waitApiUp, waitCollectorReady } from './lib/pipeline.js';
import { buildLines, feedLines } from './e2e.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeAll, type Child } from '../testkit/processes.js';
import { RARE_WORD } from './lib/synthetic-store.js';
import { p99Of } from './query.js';
import { deleteTopology, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { waitUntil } from '../testkit/wait.js';

export const POSTGRES_KEYS = [
  'pg_writer_per_s',
  'pg_copy_ceiling_rows_per_s',
  'pg_writer_vs_copy',
  'pg_query_records',
  'pg_query_critical_1h_p99_ms',
  'pg_query_kern_7d_p99_ms',
  'pg_fts_p99_ms',
  'pg_e2e_two_collectors_per_s',
  'pg_e2e_sqlite_one_collector_per_s',
] as const;

const BATCH = 5000;
const silent = pino({ level: 'silent' });

/** COPY text format: tab-separated, with backslash, tab and newline escaped, \N for null. */
function field(value: string | number | null): string {
  if (value === null) return '\\N';
  return String(value)
    .replace(/\\/g, '\\\\')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

/**
 * Issue 17: the collector's PostgreSQL writer (batches of 5,000, one transaction each, as ingest
 * commits them; no broker) next to the raw ceiling: the same rows COPYed into the same schema
 * (partitions, indexes, GIN) in one stream, in the same run.
 */
export async function postgresBench(context: BenchContext): Promise<void> {
  const count = context.quick ? 20_000 : 200_000;
  const records: StoredRecord[] = makeRecords(count, 200, 'pgbench').map(({ record, routingKey }) => ({
    ...record,
    id: record.id ?? null,
    ts: record.ts ?? new Date().toISOString(),
    facility: record.facility ?? 'bench',
    severity: record.severity !== undefined && isSeverity(record.severity) ? record.severity : 'info',
    routing_key: routingKey,
  }));

  const writerSchema = await createPgSchema('bench_writer');
  try {
    const store = await openPgStore(writerSchema.url, { applicationName: 'warren bench' }, silent);
    const started = performance.now();
    for (let i = 0; i < records.length; i += BATCH) {
      await store.write(records.slice(i, i + BATCH));
      progress(`postgres writer ${i + BATCH}/${records.length}`);
    }
    setFigure(
      context,
      'pg_writer_per_s',
      Math.round(records.length / ((performance.now() - started) / 1000)),
    );
    await store.close(silent);
  } finally {
    await writerSchema.drop();
  }

  const copySchema = await createPgSchema('bench_copy');
  try {
    // The schema and partitions as the collector makes them; then the same rows by COPY.
    const store = await openPgStore(copySchema.url, { applicationName: 'warren bench' }, silent);
    await store.write(records.slice(0, 1));
    await store.close(silent);
    const client = new pg.Client({ connectionString: copySchema.url });
    await client.connect();
    try {
      const keys = new Map<string, number>();
      for (const row of (
        await client.query<{ key_id: number; routing_key: string }>('SELECT * FROM routing_keys')
      ).rows)
        keys.set(row.routing_key, row.key_id);
      await client.query('TRUNCATE records');
      for (const key of new Set(records.map((r) => r.routing_key)))
        if (!keys.has(key))
          keys.set(
            key,
            (
              await client.query<{ key_id: number }>(
                'INSERT INTO routing_keys (routing_key) VALUES ($1) RETURNING key_id',
                [key],
              )
            ).rows[0]?.key_id ?? 0,
          );
      const started = performance.now();
      const lines = function* (): Generator<string> {
        let seq = 1;
        for (const r of records) {
          yield [
            seq++,
            r.id,
            Date.parse(r.ts),
            keys.get(r.routing_key) ?? 0,
            r.facility,
            severityRank(r.severity),
            r.host ?? null,
            r.app ?? null,
            r.pid ?? null,
            r.msg,
            r.fields === undefined ? null : JSON.stringify(r.fields),
            // A tsvector literal of the same words (each quoted).
            indexWords(r.msg)
              .split(' ')
              .filter((w) => w !== '')
              .map((w) => `'${w.replace(/'/g, "''")}'`)
              .join(' '),
          ]
            .map((v) => field(v))
            .join('\t')
            .concat('\n');
        }
      };
      await pipeline(
        Readable.from(lines()),
        client.query(
          copyFrom(
            'COPY records (seq, id, ts, key_id, facility, severity, host, app, pid, msg, fields, words) FROM STDIN',
          ),
        ),
      );
      setFigure(
        context,
        'pg_copy_ceiling_rows_per_s',
        Math.round(records.length / ((performance.now() - started) / 1000)),
      );
    } finally {
      await client.end();
    }
  } finally {
    await copySchema.drop();
  }
  await queryFigures(context);
  await e2eFigures(context);
  const writer = context.results.pg_writer_per_s;
  const ceiling = context.results.pg_copy_ceiling_rows_per_s;
  setFigure(
    context,
    'pg_writer_vs_copy',
    writer == null || ceiling == null || ceiling === 0 ? null : Math.round((writer / ceiling) * 100) / 100,
  );
}

/** The query bench's first three figures, on a PostgreSQL store of the same shape (pg-synthetic.ts). */
async function queryFigures(context: BenchContext): Promise<void> {
  const count = context.quick ? 100_000 : 5_000_000;
  const schema = await createPgSchema('bench_query');
  const exchange = uniqueName('bench-pgquery');
  try {
    // The collector creates the schema; then the records go in behind its back, as a migration would.
    const store = await openPgStore(schema.url, { applicationName: 'warren bench' }, silent);
    await store.close(silent);
    await generatePgQueryStore(schema.url, count, Date.now());
    setFigure(context, 'pg_query_records', count);
    const port = await freePort();
    const collector = startCollector({ exchange, db: schema.url, port });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitApiUp(collector, base);
      const requests = context.quick ? 30 : 200;
      const figures: [string, string][] = [
        ['pg_query_critical_1h_p99_ms', 'pattern=*.critical&since=1h'],
        ['pg_query_kern_7d_p99_ms', 'pattern=kern.%23&since=7d&limit=100'],
        ['pg_fts_p99_ms', `q=${RARE_WORD}&since=7d`],
      ];
      for (const [key, query] of figures) {
        try {
          const result = await p99Of(base, query, requests, context.repeats, key);
          setFigure(context, key, result.value, result.samples);
        } catch (err) {
          context.notes[key] = `failed: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`;
        }
      }
    } finally {
      await collector.stop(15_000);
    }
  } finally {
    await deleteTopology(exchange);
    await schema.drop();
  }
}

/**
 * Issue 17: `logship` stdin → broker → two collectors on one PostgreSQL store, next to one collector
 * on a SQLite file, the same lines in the same run; a record counts once it is committed.
 */
async function e2eFigures(context: BenchContext): Promise<void> {
  const count = context.quick ? 20_000 : 100_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-pge2e-'));
  try {
    const file = path.join(dir, 'warren.db');
    const sqlite = new StoreReader(file);
    try {
      const rate = await e2eRate(file, 1, count, () => Promise.resolve(sqlite.count()), dir, 'sqlite');
      setFigure(context, 'pg_e2e_sqlite_one_collector_per_s', Math.round(rate));
    } finally {
      sqlite.close();
    }
    const schema = await createPgSchema('bench_e2e');
    const client = new pg.Client({ connectionString: schema.url });
    try {
      // The schema first, so the count below has a table to read from the start.
      const store = await openPgStore(schema.url, { applicationName: 'warren bench' }, silent);
      await store.close(silent);
      await client.connect();
      const rows = async (): Promise<number> =>
        Number((await client.query<{ n: number }>('SELECT count(*) AS n FROM records')).rows[0]?.n ?? 0);
      const rate = await e2eRate(schema.url, 2, count, rows, dir, 'postgres');
      setFigure(context, 'pg_e2e_two_collectors_per_s', Math.round(rate));
    } finally {
      await client.end().catch(() => undefined);
      await schema.drop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function e2eRate(
  db: string,
  collectors: number,
  count: number,
  rows: () => Promise<number>,
  dir: string,
  label: string,
): Promise<number> {
  const exchange = uniqueName(`bench-pge2e-${label}`);
  const children: Child[] = [];
  try {
    for (let i = 0; i < collectors; i++) {
      const collector = startCollector({
        exchange,
        db,
        port: await freePort(),
        args: ['--connection-name', `${exchange}-${i}`],
      });
      children.push(collector);
      await waitCollectorReady(collector, exchange);
    }
    const agent = startAgent({ exchange, spool: path.join(dir, `spool-${label}`) });
    children.push(agent);
    const stdin = agent.process.stdin;
    if (stdin === null) throw new Error('logship has no stdin');
    await writeAll(stdin, 'e2e probe\n');
    await waitUntil('the probe stored', async () => (await rows()) >= 1, 30_000, 20);
    const lines = buildLines(`pg e2e ${label}`, count);
    const before = await rows();
    const started = performance.now();
    const feeding = feedLines(stdin, lines);
    await waitUntil(
      `${count} records committed (${label})`,
      async () => (await rows()) - before >= count,
      600_000,
      50,
    );
    await feeding;
    const rate = count / ((performance.now() - started) / 1000);
    progress(`e2e ${label}, ${collectors} collector(s): ${Math.round(rate)} logs/s`);
    return rate;
  } finally {
    for (const child of children.reverse()) await child.stop(15_000);
    await deleteTopology(exchange);
  }
}
