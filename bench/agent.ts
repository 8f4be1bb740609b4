import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { declareExchanges, topologyNames } from '../protocol/index.js';
import { deleteTopology, openConnection as connect, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable, writeAll } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { startAgent } from './lib/pipeline.js';
import { median } from './lib/stats.js';
import { buildLines, feedLines } from './e2e.js';

/**
 * Records (and distinct record ids) in a queue of agent batches, all consumed: once the agent has
 * exited every confirmed message is already in the queue, so reading until empty counts exactly.
 */
async function drainRecords(queue: string): Promise<{ records: number; distinct: number }> {
  const connection = await connect('bench-agent-drain');
  try {
    const channel = await connection.createChannel();
    let records = 0;
    const ids = new Set<string>();
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      for (const line of message.content.toString('utf8').split('\n')) {
        if (line === '') continue;
        records++;
        const id = (JSON.parse(line) as { id?: unknown }).id;
        ids.add(typeof id === 'string' ? id : `line:${line}`);
      }
    }
    return { records, distinct: ids.size };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * `logship` alone: stdin lines (200 bytes) to confirmed on the broker, timed from the first
 * line written to the agent's exit (it exits only once every record is confirmed or spooled, so
 * the records are then counted in the queue to be sure they were confirmed, not spooled).
 * Then its memory while a million records back up into the spool with the broker unreachable.
 */
export async function agentBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logship')) {
    context.notes.agent_confirmed_per_s = 'not measured: logship is not built yet';
    context.notes.agent_spool_rss_mb = context.notes.agent_confirmed_per_s;
    return;
  }
  const exchange = uniqueName('bench-agent');
  const names = topologyNames(exchange);
  const queue = `${exchange}.sink`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-agent-'));
  const connection = await connect('bench-agent-setup');
  try {
    await declareExchanges(connection, names);
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, '#');
    const count = context.quick ? 50_000 : 300_000;
    const rates: number[] = [];
    for (let run = context.quick ? 0 : -1; run < context.repeats; run++) {
      const agent = startAgent({ exchange, spool: path.join(dir, `spool-${run + 1}`) });
      const stdin = agent.process.stdin;
      if (stdin === null) throw new Error('logship has no stdin');
      // Connected and warm before the clock starts: one record confirmed into the queue.
      await writeAll(stdin, 'agent probe\n');
      await waitUntil(
        'the probe batch',
        async () => (await channel.checkQueue(queue)).messageCount >= 1,
        30_000,
        20,
      );
      const lines = buildLines(`agent r${run}`, count);
      const started = performance.now();
      await feedLines(stdin, lines);
      stdin.end();
      const code = await agent.exited;
      const rate = count / ((performance.now() - started) / 1000);
      if (code !== 0) throw new Error(`logship exited with ${String(code)}: ${agent.stderrTail()}`);
      const delivered = await drainRecords(queue);
      if (delivered.distinct !== count + 1)
        throw new Error(`logship confirmed ${delivered.distinct - 1} of ${count} records`);
      if (delivered.records !== delivered.distinct) {
        progress(
          `agent: ${delivered.records - delivered.distinct} records published twice (same id; the collector dedupes them)`,
        );
      }
      progress(
        `agent ${run < 0 ? 'warm-up' : `run ${run + 1}/${context.repeats}`}: ${Math.round(rate)} logs/s confirmed, RSS ${agent.peakRssMb().toFixed(0)} MiB`,
      );
      if (run >= 0) rates.push(rate);
    }
    setFigure(context, 'agent_confirmed_per_s', median(rates), rates);
    await channel.deleteQueue(queue);

    // Broker unreachable (a closed port): every record backs up into the spool.
    const spooled = context.quick ? 100_000 : 1_000_000;
    const closedPort = await freePort();
    const agent = startAgent({
      exchange,
      spool: path.join(dir, 'spool-down'),
      amqpUrl: `amqp://guest:guest@127.0.0.1:${closedPort}`,
    });
    const stdin = agent.process.stdin;
    if (stdin === null) throw new Error('logship has no stdin');
    const lines = buildLines('spool', spooled);
    const started = performance.now();
    await feedLines(stdin, lines);
    stdin.end();
    // It exits once everything read is spooled; if it waits for the broker instead, stop it.
    const exited = await Promise.race([
      agent.exited,
      // unref: this guard must not keep the bench alive once the agent has exited.
      new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000).unref()),
    ]);
    const rss = agent.peakRssMb();
    progress(
      `agent spool: ${spooled} records in ${((performance.now() - started) / 1000).toFixed(1)} s, exit ${String(exited)}, peak RSS ${rss.toFixed(0)} MiB`,
    );
    await agent.stop(10_000);
    setFigure(context, 'agent_spool_rss_mb', rss);
    if (context.quick) context.notes.agent_spool_rss_mb = `${spooled} records (--quick)`;
  } finally {
    await connection.close().catch(() => undefined);
    await deleteTopology(exchange, [queue]);
    rmSync(dir, { recursive: true, force: true });
  }
}
