import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFigure, type BenchContext } from './lib/context.js';
import { buildLines, feedLines } from './e2e.js';
import { progress } from './lib/progress.js';
import { StoreReader, startAgent, startCollector, waitCollectorReady } from './lib/pipeline.js';
import { median, percentile } from './lib/stats.js';
import { queryStore } from './query.js';
import { deleteTopology, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable, writeAll } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';

export const ISOLATION_KEYS = [
  'isolation_ingest_per_s',
  'isolation_ingest_ratio',
  'isolation_healthz_p99_ms',
] as const;

/** A prefix that expands to about a ninth of all records' words (`n1`, `n10`, ... `n1999999`). */
const PATHOLOGICAL = '/api/logs?q=n1*&since=7d&limit=100';
/** Clients repeating the pathological query, each as soon as the last answer (or refusal) came. */
const QUERY_CLIENTS = 4;

/**
 * Issue 14 item 7: does a burst of pathological queries slow ingest or the probes? The same
 * `logcollect` on a copy of the query bench's store ingests the same number of records from
 * `logship` twice, alone and while clients keep sending a query that scans a ninth of the store;
 * meanwhile /healthz is asked every 20 ms.
 */
export async function isolationBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logship') || !binAvailable('logcollect')) {
    for (const key of ISOLATION_KEYS)
      context.notes[key] = 'not measured: logship or logcollect is not built yet';
    return;
  }
  const count = context.quick ? 100_000 : 5_000_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-isolation-'));
  const db = path.join(dir, 'warren.db');
  copyFileSync(queryStore(count), db);
  const exchange = uniqueName('bench-isolation');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const collector = startCollector({ exchange, db, port });
  const agent = startAgent({ exchange, spool: path.join(dir, 'spool') });
  const reader = new StoreReader(db);
  try {
    await waitCollectorReady(collector, exchange, 120_000);
    const stdin = agent.process.stdin;
    if (stdin === null) throw new Error('logship has no stdin');
    await writeAll(stdin, 'isolation probe\n');
    const start = reader.maxSeq();
    await waitUntil('the probe record', () => reader.maxSeq() > start, 30_000, 20);

    const records = context.quick ? 30_000 : 150_000;
    // Lines are built before any clock or probe starts: building them blocks this process.
    const ingest = async (lines: readonly string[]): Promise<number> => {
      const before = reader.maxSeq();
      const started = performance.now();
      const feeding = feedLines(stdin, lines);
      await waitUntil(`${records} records committed`, () => reader.maxSeq() - before >= records, 600_000, 20);
      await feeding;
      return records / ((performance.now() - started) / 1000);
    };

    const alone: number[] = [];
    const burst: number[] = [];
    const healthz: number[] = [];
    let answered = 0;
    let refused = 0;
    let timedOut = 0;
    /** Asks /healthz every 20 ms until stopped, into `into`. */
    const probe = async (into: number[], stopped: () => boolean): Promise<void> => {
      while (!stopped()) {
        const began = performance.now();
        const res = await fetch(`${base}/healthz`);
        await res.arrayBuffer();
        into.push(performance.now() - began);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const healthzAlone: number[] = [];
    for (let run = 0; run < context.repeats; run++) {
      const quietLines = buildLines(`iso quiet r${run}`, records);
      const burstLines = buildLines(`iso burst r${run}`, records);
      let quietDone = false;
      const quietProbes = probe(healthzAlone, () => quietDone);
      const quiet = await ingest(quietLines);
      quietDone = true;
      await quietProbes;
      alone.push(quiet);
      let stop = false;
      const clients = Array.from({ length: QUERY_CLIENTS }, async () => {
        while (!stop) {
          const res = await fetch(`${base}${PATHOLOGICAL}`).catch(() => null);
          await res?.arrayBuffer();
          if (res?.status === 200) answered++;
          else if (res?.status === 503) {
            refused++;
            await new Promise((resolve) => setTimeout(resolve, 1000));
          } else if (res?.status === 504) timedOut++;
        }
      });
      // Let the queries take hold before the clock starts.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const probes = probe(healthz, () => stop);
      const busy = await ingest(burstLines);
      stop = true;
      await Promise.all([...clients, probes]);
      burst.push(busy);
      progress(
        `isolation run ${run + 1}/${context.repeats}: ingest alone ${Math.round(quiet)}/s, during queries ${Math.round(busy)}/s (${(busy / quiet).toFixed(2)}x); queries answered ${answered}, refused ${refused}, stopped at the deadline ${timedOut}; /healthz alone p50 ${percentile(healthzAlone, 50).toFixed(1)} p99 ${percentile(healthzAlone, 99).toFixed(1)} ms (${healthzAlone.length}), during queries p50 ${percentile(healthz, 50).toFixed(1)} p99 ${percentile(healthz, 99).toFixed(1)} ms (${healthz.length})`,
      );
    }
    const ratios = burst.map((rate, i) => rate / (alone[i] ?? rate));
    setFigure(context, 'isolation_ingest_per_s', median(alone), alone);
    setFigure(context, 'isolation_ingest_ratio', median(ratios), ratios);
    setFigure(context, 'isolation_healthz_p99_ms', percentile(healthz, 99));
    context.notes.isolation_ingest_ratio = `${QUERY_CLIENTS} clients repeating GET ${PATHOLOGICAL} on ${count.toLocaleString('en-US')} records: ${answered} answered, ${refused} refused busy, ${timedOut} stopped at the deadline`;
    stdin.end();
    await agent.stop(30_000);
  } finally {
    reader.close();
    await agent.stop(5_000);
    await collector.stop(15_000);
    await deleteTopology(exchange);
    rmSync(dir, { recursive: true, force: true });
  }
}
