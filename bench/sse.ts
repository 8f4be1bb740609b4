import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTENT_TYPE_NDJSON, declareArchiveQueue, encodeBatch, topologyNames } from '../protocol/index.js';
import { deleteTopology, openConnection as connect, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { StoreReader, startCollector, waitCollectorReady } from './lib/pipeline.js';
import { median, percentile } from './lib/stats.js';

const POLL_MS = 2;

/**
 * Issue 5's stream figure: records ingested at 5,000/s (50-record NDJSON messages every 10 ms),
 * each timed from the moment its row is readable in the store (polled every 2 ms) to its event
 * on `GET /api/logs/stream` — stored to delivered, as the issue asks.
 */
export async function sseBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logcollect')) {
    context.notes.sse_p99_ms = 'not measured: logcollect is not built yet';
    return;
  }
  const exchange = uniqueName('bench-sse');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-sse-'));
  const db = path.join(dir, 'warren.db');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const connection = await connect('bench-sse-publisher');
  const collector = startCollector({ exchange, db, port });
  const reader = new StoreReader(db);
  const abort = new AbortController();
  try {
    await declareArchiveQueue(connection, topologyNames(exchange), { bindings: ['#'] });
    await waitCollectorReady(collector, exchange);
    await waitUntil(
      'the HTTP API',
      async () => {
        try {
          return (await fetch(`${base}/healthz`)).ok;
        } catch {
          return false;
        }
      },
      30_000,
      100,
    );
    const visible = new Map<string, number>();
    const delivered = new Map<string, number>();
    const response = await fetch(`${base}/api/logs/stream`, { signal: abort.signal });
    if (!response.ok || response.body === null) throw new Error(`GET /api/logs/stream → ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    const reading = (async () => {
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          const now = performance.now();
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            for (const line of event.split('\n')) {
              if (!line.startsWith('data: ')) continue;
              const msg = (JSON.parse(line.slice(6)) as { msg?: unknown }).msg;
              if (typeof msg === 'string') delivered.set(msg.split(' ', 1)[0] ?? msg, now);
            }
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    let lastSeq = 0;
    const poller = setInterval(() => {
      const now = performance.now();
      for (const row of reader.after(lastSeq)) {
        lastSeq = row.seq;
        visible.set(row.msg.split(' ', 1)[0] ?? row.msg, now);
      }
    }, POLL_MS);
    const channel = await connection.createConfirmChannel();
    const seconds = context.quick ? 2 : 5;
    const p99s: number[] = [];
    try {
      for (let run = context.quick ? 0 : -1; run < context.repeats; run++) {
        const tags: string[] = [];
        const started = performance.now();
        for (let tick = 0; tick < seconds * 100; tick++) {
          const wait = started + tick * 10 - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const batch = [];
          for (let i = 0; i < 50; i++) {
            const tag = `sse-r${run}-${tick * 50 + i}`;
            tags.push(tag);
            batch.push({ id: tag, msg: `${tag} stored and streamed`, host: 'bench', app: 'sse' });
          }
          channel.publish(exchange, 'bench.info', encodeBatch(batch), {
            persistent: true,
            contentType: CONTENT_TYPE_NDJSON,
            messageId: `sse-${run}-${tick}`,
          });
        }
        await channel.waitForConfirms();
        await waitUntil(
          `${tags.length} streamed records`,
          () => tags.every((t) => delivered.has(t)),
          60_000,
          50,
        );
        // Stored-to-delivered; an event that beat the 2 ms poll counts as 0.
        const latencies = tags.map((t) =>
          Math.max(0, (delivered.get(t) ?? 0) - (visible.get(t) ?? delivered.get(t) ?? 0)),
        );
        const p99 = percentile(latencies, 99);
        progress(
          `sse ${run < 0 ? 'warm-up' : `run ${run + 1}/${context.repeats}`}: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${tags.length} records)`,
        );
        if (run >= 0) p99s.push(p99);
      }
    } finally {
      clearInterval(poller);
      abort.abort();
      await reading;
    }
    setFigure(context, 'sse_p99_ms', median(p99s), p99s);
    context.notes.sse_p99_ms = `from readable in the store (polled every ${POLL_MS} ms) to the SSE event`;
  } finally {
    abort.abort();
    reader.close();
    await collector.stop(15_000);
    await connection.close().catch(() => undefined);
    await deleteTopology(exchange);
    rmSync(dir, { recursive: true, force: true });
  }
}
