/**
 * Measures the HTTP API's speed targets (issue 5) against a synthetic store:
 *   node <build>/test/http/measure.js generate DB [records]   builds the store (default 5,000,000 over 7 days)
 *   node <build>/test/http/measure.js query DB                p50/p99 of the target queries through app.inject
 *   node <build>/test/http/measure.js stream DB [rate]        SSE delivery latency while inserting at `rate`/s
 * The proof helper's `npm run bench` owns the official figures; this is the API owner's own check.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildApi } from '../../collector/http/app.js';
import { generateSyntheticStore, RARE_WORD } from '../../bench/lib/synthetic-store.js';
import { openDatabase } from '../../collector/store/database.js';
import { createBatchWriter } from '../../collector/store/writer.js';
import { fakeStatus } from './fixtures.js';

const [command = '', dbPath = '', arg] = process.argv.slice(2);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measureQueries(): Promise<void> {
  const app = await buildApi({
    dbPath,
    events: new EventEmitter(),
    status: () => fakeStatus(dbPath),
    registry: new Registry(),
    logger: pino({ level: 'warn' }),
    // The synthetic store ends "now" at generation: measure relative to its newest record.
    now: () => new Date(newest(dbPath)),
  });
  const cases = [
    '/api/logs?pattern=*.critical&since=1h',
    '/api/logs?pattern=kern.%23&since=7d&limit=100',
    `/api/logs?q=${RARE_WORD}&since=7d`,
    '/api/logs?pattern=*.emergency&since=7d',
    '/api/logs?pattern=*.error%2B&since=7d&limit=1000',
    '/api/logs?since=7d',
    '/api/logs?q=disk%20failure&since=1h',
    '/api/logs?q=disk&since=7d',
    '/api/logs?host=web-07&since=1d',
    '/api/logs?pattern=kern.%23&order=asc&since=7d',
    '/api/logs?q=disk&host=web-07&since=7d',
    '/api/logs?pattern=*.*&q=failure&order=asc&since=7d',
    '/api/stats?since=1h',
    '/api/stats?since=7d',
  ];
  for (const url of cases) {
    const times: number[] = [];
    let count = 0;
    const runs = url.includes('since=7d') && url.startsWith('/api/stats') ? 15 : 210;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const res = await app.inject({ method: 'GET', url });
      times.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      count = (res.json<{ records?: unknown[] }>().records ?? []).length;
    }
    // the first runs warm the page cache and statement cache
    const sorted = times.slice(runs > 20 ? 10 : 2).sort((a, b) => a - b);
    console.log(
      `${url.padEnd(52)} records=${String(count).padStart(5)}  p50=${percentile(sorted, 50).toFixed(1)}ms  p99=${percentile(sorted, 99).toFixed(1)}ms`,
    );
  }
  await app.close();
}

function newest(path: string): number {
  const db = new Database(path, { readonly: true });
  const ts = db.prepare('SELECT max(ts) FROM records').pluck().get() as number;
  db.close();
  return ts;
}

async function measureStream(rate: number): Promise<void> {
  const events = new EventEmitter();
  const app = await buildApi({
    dbPath,
    events,
    status: () => fakeStatus(dbPath),
    registry: new Registry(),
    logger: pino({ level: 'warn' }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  // The collector's store and writer; NO_CHECKPOINT=1 moves checkpoints off this thread's commits,
  // to see how much of the tail is checkpoint fsyncs blocking the event loop.
  const db = openDatabase(dbPath, {
    walAutocheckpointBytes: process.env.NO_CHECKPOINT === '1' ? 0 : undefined,
  });
  db.pragma('synchronous = NORMAL');
  const writer = createBatchWriter(db);
  const sentAt = new Map<string, number>();
  const run = Date.now().toString(36);
  let counter = 0;
  const insertBatch = (ids: string[]): number =>
    writer.write(
      ids.map((id) => ({
        id,
        ts: new Date().toISOString(),
        facility: 'kern',
        severity: 'critical',
        msg: `stream latency probe ${id}`,
        routing_key: 'kern.critical',
        host: 'bench',
      })),
    ).lastSeq;
  // Latency counts from the commit, when a record is stored (as the collector emits 'stored').
  const batch = (n: number): number => {
    const ids = Array.from({ length: n }, () => `stream:${run}:${counter++}`);
    const last = insertBatch(ids);
    const committed = performance.timeOrigin + performance.now();
    for (const id of ids) sentAt.set(id, committed);
    return last;
  };

  // Several clients at once, each in its own process as real clients are, each with its own filter
  // path: all keys, one key, a range with text. They print "<id> <epoch ms>" per record received.
  const paths = ['pattern=%23', 'pattern=kern.critical', 'pattern=*.error%2B&q=probe'];
  const clients = paths.map((query) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', CLIENT, `http://127.0.0.1:${port}/api/logs/stream?${query}`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
    });
    // 'close', not 'exit': only then has all of its stdout been read
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return { query, child, exited, text: () => text };
  });
  await new Promise((r) => setTimeout(r, 1000));
  // The collector commits in batches: one about every 10 ms.
  // How long the server's event loop was held up: with 2 shared cores, scheduling shows up here.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const started = performance.now();
  const deadline = started + 10_000;
  while (performance.now() < deadline) {
    // as many as are due at `rate` since the start, so timer slack does not lower the rate
    const due = Math.floor(((performance.now() - started) * rate) / 1000) - counter;
    if (due > 0) {
      const lastSeq = batch(due);
      events.emit('stored', { lastSeq });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  loopDelay.disable();
  console.log(
    `server event-loop delay: p50=${(loopDelay.percentile(50) / 1e6).toFixed(1)}ms p99=${(loopDelay.percentile(99) / 1e6).toFixed(1)}ms max=${(loopDelay.max / 1e6).toFixed(1)}ms`,
  );
  // time for the last records to arrive, so a late one counts as late rather than lost
  await new Promise((r) => setTimeout(r, 3000));
  for (const client of clients) client.child.kill('SIGTERM');
  await Promise.all(clients.map((c) => c.exited));
  db.close();
  await app.close();
  for (const client of clients) {
    const latencies: number[] = [];
    for (const line of client.text().split('\n')) {
      if (line.startsWith('EVENT ')) console.log(`${client.query}: ${line}`);
      const [id = '', at = ''] = line.split(' ');
      const t = sentAt.get(id);
      if (t !== undefined) latencies.push(Number(at) - t);
    }
    const sorted = latencies.sort((a, b) => a - b);
    console.log(
      `SSE ${client.query.padEnd(28)} at ${rate}/s: delivered ${sorted.length}/${counter}  p50=${percentile(sorted, 50).toFixed(1)}ms  p99=${percentile(sorted, 99).toFixed(1)}ms  max=${(sorted[sorted.length - 1] ?? NaN).toFixed(1)}ms`,
    );
  }
}

/** A stream client for a child process: prints each record's id and when it arrived (epoch ms). */
const CLIENT = `
const res = await fetch(process.argv[1]);
const reader = res.body.getReader();
const decoder = new TextDecoder();
let buffer = '';
process.on('SIGTERM', () => process.stdout.write('', () => process.exit(0)));
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  const now = performance.timeOrigin + performance.now();
  buffer += decoder.decode(value, { stream: true });
  let out = '';
  let end;
  while ((end = buffer.indexOf('\\n\\n')) >= 0) {
    const event = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const match = /\\ndata: \\{"id":"([^"]+)"/.exec(event);
    if (match) out += match[1] + ' ' + now + '\\n';
    else if (/^event: /m.test(event)) out += 'EVENT ' + JSON.stringify(event) + '\\n';
  }
  if (out !== '') process.stdout.write(out);
}
`;

if (command === 'generate') {
  const t0 = performance.now();
  const last = generateSyntheticStore(dbPath, { records: Number(arg ?? 5_000_000) });
  console.log(`generated ${dbPath} through seq ${last} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} else if (command === 'query') {
  await measureQueries();
} else if (command === 'stream') {
  await measureStream(Number(arg ?? 5000));
} else {
  console.error('usage: measure.js generate|query|stream DB [n]');
  process.exit(2);
}
