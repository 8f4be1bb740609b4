import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFigure, type BenchContext } from './lib/context.js';
import { brokerPid, cpuMeter } from './lib/cpu.js';
import { deleteTopology, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable, writeAll } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';
import { progress } from './lib/progress.js';
import { StoreReader, startAgent, startCollector, waitCollectorReady } from './lib/pipeline.js';
import { filler, rng } from './lib/records.js';
import { median, percentile } from './lib/stats.js';

/** Lines of `bytes` bytes (plus the newline), each unique, in chunks for the agent's stdin. */
export function lineChunk(
  prefix: string,
  from: number,
  count: number,
  bytes: number,
  random: () => number,
): string {
  let chunk = '';
  for (let n = from; n < from + count; n++) chunk += `${filler(`${prefix} ${n}`, bytes, random)}\n`;
  return chunk;
}

/**
 * `count` unique lines in chunks of 1,000, built before a run's clock starts: on two cores, making
 * them while timing would charge the harness's CPU to Warren (about a sixth of a core at 50k/s).
 */
export function buildLines(prefix: string, count: number, bytes = 200): string[] {
  const random = rng(11);
  const CHUNK = 1_000;
  const chunks: string[] = [];
  for (let n = 0; n < count; n += CHUNK)
    chunks.push(lineChunk(prefix, n, Math.min(CHUNK, count - n), bytes, random));
  return chunks;
}

/** Writes prepared chunks to the agent, respecting the pipe's back-pressure. */
export async function feedLines(stdin: NodeJS.WritableStream, chunks: readonly string[]): Promise<void> {
  for (const chunk of chunks) await writeAll(stdin, chunk);
}

/**
 * Warren end to end, as a user runs it: `logship` on stdin → broker → `logcollect` → SQLite
 * with FTS. Throughput counts a record when its transaction is committed (visible to a reader);
 * latency is from the write to the agent's stdin to the row being readable, at a fixed rate.
 */
export async function e2eBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logship') || !binAvailable('logcollect')) {
    const note = 'not measured: logship or logcollect is not built yet';
    for (const key of ['e2e_logs_per_s', 'e2e_p50_ms', 'e2e_p99_ms', 'collector_rss_mb', 'agent_rss_mb'])
      context.notes[key] = note;
    return;
  }
  const exchange = uniqueName('bench-e2e');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-e2e-'));
  const db = path.join(dir, 'warren.db');
  const collector = startCollector({ exchange, db, port: await freePort() });
  const agent = startAgent({ exchange, spool: path.join(dir, 'spool') });
  const reader = new StoreReader(db);
  try {
    await waitCollectorReady(collector, exchange);
    const stdin = agent.process.stdin;
    if (stdin === null) throw new Error('logship has no stdin');
    // A first record through the whole pipeline: both processes connected and warm.
    await writeAll(stdin, 'e2e probe\n');
    await waitUntil('the probe record to be stored', () => reader.maxSeq() >= 1, 30_000, 20);

    const count = context.quick ? 30_000 : 200_000;
    const runs: number[] = [];
    const cpuNotes: string[] = [];
    for (let run = context.quick ? 0 : -1; run < context.repeats; run++) {
      const lines = buildLines(`e2e r${run}`, count);
      const before = reader.count();
      const started = performance.now();
      const meter = cpuMeter({ agent: agent.pid, collector: collector.pid, broker: brokerPid() });
      const feeding = feedLines(stdin, lines);
      await waitUntil(
        `${count} records committed`,
        () => reader.maxSeq() - before >= count && reader.count() - before >= count,
        300_000,
        10,
      );
      await feeding;
      const wall = (performance.now() - started) / 1000;
      const rate = count / wall;
      // Where the time went: CPU seconds of each process per wall second (2 cores = 2.00 at most).
      const cpu = Object.entries(meter())
        .map(([name, seconds]) => `${name} ${(seconds / wall).toFixed(2)}`)
        .join(', ');
      cpuNotes.push(cpu);
      progress(
        `e2e throughput ${run < 0 ? 'warm-up' : `run ${run + 1}/${context.repeats}`}: ${Math.round(rate)} logs/s; cores busy: ${cpu}`,
      );
      if (run >= 0) runs.push(rate);
    }
    setFigure(context, 'e2e_logs_per_s', median(runs), runs);
    context.notes.e2e_logs_per_s = `cores busy in the last run: ${cpuNotes[cpuNotes.length - 1] ?? ''}`;

    // Latency at a fixed 10,000 records/s: 100 lines every 10 ms, each carrying its write time.
    const seconds = context.quick ? 2 : 6;
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let run = context.quick ? 0 : -1; run < context.repeats; run++) {
      const latencies = await fixedRateLatency(stdin, reader, `lat r${run}`, 10_000, seconds);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      progress(
        `e2e latency ${run < 0 ? 'warm-up' : `run ${run + 1}/${context.repeats}`}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${latencies.length} records)`,
      );
      if (run >= 0) {
        p50s.push(p50);
        p99s.push(p99);
      }
    }
    setFigure(context, 'e2e_p50_ms', median(p50s), p50s);
    setFigure(context, 'e2e_p99_ms', median(p99s), p99s);
    setFigure(context, 'collector_rss_mb', collector.peakRssMb());
    setFigure(context, 'agent_rss_mb', agent.peakRssMb());
    stdin.end();
    const agentExit = await agent.stop(30_000);
    if (agentExit !== 0) progress(`logship exited with ${String(agentExit)}: ${agent.stderrTail()}`);
  } finally {
    reader.close();
    await agent.stop(5_000);
    await collector.stop(15_000);
    await deleteTopology(exchange);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Feeds `rate` lines/s for `seconds`, polling the store; returns each record's write-to-readable time in ms. */
export async function fixedRateLatency(
  stdin: NodeJS.WritableStream,
  reader: StoreReader,
  prefix: string,
  rate: number,
  seconds: number,
): Promise<number[]> {
  const TICK_MS = 10;
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const total = perTick * Math.round((seconds * 1000) / TICK_MS);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let lastSeq = reader.maxSeq();
  const poll = (): void => {
    const now = performance.now();
    for (const row of reader.after(lastSeq)) {
      lastSeq = row.seq;
      const match = /^(\S+ \S+ \d+) /.exec(row.msg);
      const sent = match?.[1] === undefined ? undefined : sentAt.get(match[1]);
      if (sent !== undefined) latencies.push(now - sent);
    }
  };
  const random = rng(5);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = started + (sent / perTick) * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5)));
    poll();
    if (performance.now() < due) continue;
    let chunk = '';
    const now = performance.now();
    for (let i = 0; i < perTick; i++) {
      const tag = `${prefix} ${sent + i}`;
      sentAt.set(tag, now);
      chunk += `${filler(`${tag} `, 200, random)}\n`;
    }
    sent += perTick;
    await writeAll(stdin, chunk);
  }
  await waitUntil(
    `${total} latency records`,
    () => {
      poll();
      return latencies.length >= total;
    },
    60_000,
    2,
  );
  return latencies;
}
