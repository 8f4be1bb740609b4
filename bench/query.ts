import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RARE_WORD, generateSyntheticStore } from './lib/synthetic-store.js';
import { MIGRATIONS } from '../collector/store/schema.js';
import { deleteTopology, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable, rssMb } from '../testkit/processes.js';
import { sleep } from '../protocol/index.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { startCollector, waitApiUp } from './lib/pipeline.js';
import { median, percentile } from './lib/stats.js';

const DAY_MS = 24 * 3600 * 1000;

export const QUERY_KEYS = [
  'query_records',
  'query_critical_1h_p99_ms',
  'query_kern_7d_p99_ms',
  'fts_p99_ms',
  'volume_1h_p99_ms',
  'volume_7d_p99_ms',
  'field_filter_1h_p99_ms',
  'top_host_1h_p99_ms',
  'export_records_per_s',
  'export_slow_rss_growth_mb',
];
/** A cached store is reused while its newest hour is still mostly inside `since=1h`. */
const CACHE_MAX_AGE_MS = 20 * 60 * 1000;

function cacheFile(count: number): string {
  const schema = createHash('sha1').update(MIGRATIONS.join('\n')).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'warren-bench-cache');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `query-v3-${schema}-${count}.db`);
}

/**
 * `count` records over the last 7 days, 40 facilities, every severity, from the seeded synthetic
 * generator (the collector's writer, in big transactions).
 */
function generateStore(file: string, count: number, now: number): void {
  const CHUNK = 500_000;
  const began = Date.now();
  // In slices, oldest first, so progress shows and times still rise with seq as ingest makes them.
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    const span = (7 * DAY_MS * n) / count;
    const end = now - 7 * DAY_MS + (7 * DAY_MS * (done + n)) / count;
    generateSyntheticStore(file, {
      records: n,
      spanMs: span,
      end,
      seed: 42 + done,
      rareEvery: Math.min(200_000, Math.floor(n / 5)),
    });
    progress(
      `query store: ${(done + n).toLocaleString('en-US')} of ${count.toLocaleString('en-US')} records (${Math.round((done + n) / Math.max(0.001, (Date.now() - began) / 1000))}/s)`,
    );
  }
  const db = new Database(file);
  db.exec('ANALYZE');
  db.close();
}

/** The query store for this size, from the cache if it is fresh enough, else generated. */
export function queryStore(count: number): string {
  const file = cacheFile(count);
  // The store's own mtime moves whenever a collector opens it; the sidecar keeps when it was generated.
  const stamp = `${file}.generated`;
  const generatedAt = existsSync(stamp) && existsSync(file) ? Number(readFileSync(stamp, 'utf8')) : 0;
  if (Date.now() - generatedAt < CACHE_MAX_AGE_MS) {
    progress(
      `query store: reusing ${file} (generated ${Math.round((Date.now() - generatedAt) / 60_000)} min ago)`,
    );
    return file;
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  const partial = `${file}.partial`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
  const now = Date.now();
  generateStore(partial, count, now);
  renameSync(partial, file);
  writeFileSync(stamp, String(now));
  return file;
}

async function timedGet(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`GET ${url} → ${response.status}: ${body.slice(0, 200)}`);
  return { ms, body };
}

/** p99 of `requests` sequential GETs of `/api/logs?query`, which must find records. */
export async function p99Of(
  base: string,
  query: string,
  requests: number,
  repeats: number,
  label: string,
): Promise<{ value: number; samples: number[] }> {
  const route = `/api/logs?${query}`;
  // A query that finds nothing would be fast for the wrong reason.
  const first = JSON.parse((await timedGet(`${base}${route}`)).body) as { records?: unknown[] };
  if (!Array.isArray(first.records) || first.records.length === 0)
    throw new Error(`GET ${route} found no records`);
  progress(`${label}: ${first.records.length} records per response`);
  return routeP99(base, route, requests, repeats, label);
}

/** p99 of `requests` sequential GETs of any route, median over the repeats, after a warm-up. */
async function routeP99(
  base: string,
  route: string,
  requests: number,
  repeats: number,
  label: string,
): Promise<{ value: number; samples: number[] }> {
  const url = `${base}${route}`;
  for (let i = 0; i < Math.min(20, requests); i++) await timedGet(url);
  const samples: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const times: number[] = [];
    for (let i = 0; i < requests; i++) times.push((await timedGet(url)).ms);
    const p99 = percentile(times, 99);
    progress(
      `${label} run ${run + 1}/${repeats}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );
    samples.push(p99);
  }
  return { value: median(samples), samples };
}

/** Records/s of one export read as fast as this process can (lines counted as they arrive). */
async function exportRate(base: string, route: string): Promise<{ rate: number; records: number }> {
  const started = performance.now();
  const response = await fetch(`${base}${route}`);
  if (!response.ok || response.body === null) throw new Error(`GET ${route} → ${response.status}`);
  let records = 0;
  for await (const chunk of response.body) {
    const bytes = chunk as Uint8Array;
    for (const byte of bytes) if (byte === 0x0a) records++;
  }
  return { rate: records / ((performance.now() - started) / 1000), records };
}

/**
 * The collector's RSS growth while a slow client reads an export (64 KiB every 100 ms): back-pressure
 * holds the export, so the collector holds two pages, not what the client has not read yet.
 */
async function slowExportGrowth(base: string, route: string, pid: number, seconds: number): Promise<number> {
  const before = rssMb(pid) ?? 0;
  let peak = before;
  const abort = new AbortController();
  const response = await fetch(`${base}${route}`, { signal: abort.signal });
  if (!response.ok || response.body === null) throw new Error(`GET ${route} → ${response.status}`);
  const reader = response.body.getReader({ mode: 'byob' });
  const deadline = performance.now() + seconds * 1000;
  try {
    while (performance.now() < deadline) {
      const { done } = await reader.read(new Uint8Array(64 * 1024));
      if (done) throw new Error('the export ended before the slow read did: not a slow reader');
      peak = Math.max(peak, rssMb(pid) ?? 0);
      await sleep(100);
    }
  } finally {
    abort.abort();
  }
  return peak - before;
}

/** The HTTP API of a real `logcollect` over a generated store of 7 days (issue 5's figures). */
export async function queryBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logcollect')) {
    for (const key of QUERY_KEYS) {
      context.notes[key] = 'not measured: logcollect is not built yet';
    }
    return;
  }
  const count = context.quick ? 100_000 : 5_000_000;
  const file = queryStore(count);
  setFigure(context, 'query_records', count);
  if (context.quick) context.notes.query_records = 'scaled down in --quick; the full run uses 5,000,000';
  const exchange = uniqueName('bench-query');
  const port = await freePort();
  const collector = startCollector({ exchange, db: file, port });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitApiUp(collector, base);
    const requests = context.quick ? 30 : 200;
    const critical = await p99Of(
      base,
      'pattern=*.critical&since=1h',
      requests,
      context.repeats,
      'query *.critical 1h',
    );
    setFigure(context, 'query_critical_1h_p99_ms', critical.value, critical.samples);
    const kern = await p99Of(
      base,
      'pattern=kern.%23&since=7d&limit=100',
      requests,
      context.repeats,
      'query kern.# 7d',
    );
    setFigure(context, 'query_kern_7d_p99_ms', kern.value, kern.samples);
    const fts = await p99Of(base, `q=${RARE_WORD}&since=7d`, requests, context.repeats, 'fts rare word');
    setFigure(context, 'fts_p99_ms', fts.value, fts.samples);

    // Issue 16: the operator's questions on the same store.
    const few = context.quick ? 10 : 3;
    const figures: [string, string, number][] = [
      ['volume_1h_p99_ms', '/api/logs/volume?since=1h&step=1m', requests],
      ['volume_7d_p99_ms', '/api/logs/volume?since=7d&step=1h', few],
      ['field_filter_1h_p99_ms', '/api/logs?q=status:500&since=1h', requests],
      ['top_host_1h_p99_ms', '/api/logs/top?by=host&since=1h', requests],
    ];
    // Each on its own: one that fails (a 504 past the query deadline) leaves the others measured.
    const measured = async (key: string, measure: () => Promise<void>): Promise<void> => {
      try {
        await measure();
      } catch (err) {
        context.notes[key] = `failed: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`;
        progress(`${key} failed: ${context.notes[key]}`);
      }
    };
    for (const [key, route, n] of figures) {
      await measured(key, async () => {
        const result = await routeP99(base, route, n, context.repeats, key);
        setFigure(context, key, result.value, result.samples);
      });
    }
    await measured('export_records_per_s', async () => {
      const exported = await exportRate(base, '/api/logs/export?since=1d');
      progress(`export: ${exported.records} records at ${Math.round(exported.rate)}/s`);
      setFigure(context, 'export_records_per_s', exported.rate);
    });
    await measured('export_slow_rss_growth_mb', async () => {
      const growth = await slowExportGrowth(
        base,
        '/api/logs/export?since=7d',
        collector.pid,
        context.quick ? 5 : 20,
      );
      progress(`slow export: collector RSS grew ${growth.toFixed(1)} MiB`);
      setFigure(context, 'export_slow_rss_growth_mb', growth);
    });
  } finally {
    await collector.stop(15_000);
    await deleteTopology(exchange);
  }
}
