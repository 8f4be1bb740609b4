import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_NDJSON,
  declareArchiveQueue,
  encodeBatch,
  encodeRecord,
  topologyNames,
} from '../protocol/index.js';
import { deleteTopology, openConnection as connect, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { StoreReader, startCollector } from './lib/pipeline.js';
import { makeRecords, type BenchRecord } from './lib/records.js';
import { median } from './lib/stats.js';

/** Records per NDJSON message, as the agent batches them. */
const AGENT_BATCH = 500;

/** Publishes the records into the collector's queue, persistent and confirmed, batched per routing key or one per message. */
export async function prefill(
  exchange: string,
  records: readonly BenchRecord[],
  batched: boolean,
): Promise<number> {
  const connection = await connect('bench-prefill');
  try {
    const names = topologyNames(exchange);
    await declareArchiveQueue(connection, names, { bindings: ['#'] });
    const channel = await connection.createConfirmChannel();
    let messages = 0;
    const send = async (key: string, body: Buffer, type: string): Promise<void> => {
      const ok = channel.publish(exchange, key, body, {
        persistent: true,
        contentType: type,
        messageId: `prefill-${messages}`,
        timestamp: Date.now(),
        appId: 'warren-bench',
      });
      if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
      if (++messages % 1_000 === 0) await channel.waitForConfirms();
    };
    if (batched) {
      // As an agent sends them: full batches of one routing key each (keys rotate batch by batch).
      for (let i = 0; i < records.length; i += AGENT_BATCH) {
        const chunk = records.slice(i, i + AGENT_BATCH);
        const key = chunk[0]?.routingKey ?? 'bench.info';
        await send(key, encodeBatch(chunk.map((r) => r.record)), CONTENT_TYPE_NDJSON);
      }
    } else {
      for (const item of records) await send(item.routingKey, encodeRecord(item.record), CONTENT_TYPE_JSON);
    }
    await channel.waitForConfirms();
    return messages;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * The collector draining a pre-filled queue into a fresh store: records/s from its first commit
 * to its last (its start-up is not counted), acks after commit, FTS on, as it ships.
 */
async function drainRate(
  records: readonly BenchRecord[],
  batched: boolean,
  label: string,
): Promise<{ rate: number; rss: number }> {
  const exchange = uniqueName('bench-collector');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-collector-'));
  const db = path.join(dir, 'warren.db');
  const reader = new StoreReader(db);
  try {
    const messages = await prefill(exchange, records, batched);
    progress(`${label}: queue holds ${messages} messages (${records.length} records)`);
    const collector = startCollector({ exchange, db, port: await freePort() });
    try {
      let first: { at: number; count: number } | null = null;
      await waitUntil(
        `${records.length} records stored`,
        () => {
          if (collector.hasExited()) throw new Error(`logcollect exited: ${collector.stderrTail()}`);
          const count = reader.maxSeq();
          if (first === null && count > 0) first = { at: performance.now(), count };
          return count >= records.length && reader.count() >= records.length;
        },
        300_000,
        5,
      );
      const start = first as { at: number; count: number } | null;
      if (start === null) throw new Error('no commit observed');
      const rate = (records.length - start.count) / ((performance.now() - start.at) / 1000);
      return { rate, rss: collector.peakRssMb() };
    } finally {
      await collector.stop(15_000);
    }
  } finally {
    reader.close();
    await deleteTopology(exchange);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function collectorBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logcollect')) {
    const note = 'not measured: logcollect is not built yet';
    for (const key of ['collector_batched_per_s', 'collector_single_per_s', 'collector_alone_rss_mb'])
      context.notes[key] = note;
    return;
  }
  let rss = 0;
  for (const batched of [true, false]) {
    const count = batched ? (context.quick ? 50_000 : 300_000) : context.quick ? 10_000 : 60_000;
    const label = batched ? 'collector batched' : 'collector single';
    const rates: number[] = [];
    for (let run = context.quick ? 0 : -1; run < context.repeats; run++) {
      const records = makeRecords(count, 200, uniqueName('col'), run + 3);
      const result = await drainRate(records, batched, label);
      rss = Math.max(rss, result.rss);
      progress(
        `${label} ${run < 0 ? 'warm-up' : `run ${run + 1}/${context.repeats}`}: ${Math.round(result.rate)} logs/s, RSS ${result.rss.toFixed(0)} MiB`,
      );
      if (run >= 0) rates.push(result.rate);
    }
    setFigure(context, batched ? 'collector_batched_per_s' : 'collector_single_per_s', median(rates), rates);
  }
  setFigure(context, 'collector_alone_rss_mb', rss);
}
