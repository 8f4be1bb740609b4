import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setFigure, type BenchContext } from './lib/context.js';
import { cpuMeter } from './lib/cpu.js';
import { startAgent } from './lib/pipeline.js';
import { progress } from './lib/progress.js';
import { median, roundsNote } from './lib/stats.js';
import { connectSyslog, rfc3164Lines, sendChunks } from './lib/syslog-sender.js';
import { statsFigure } from './syslog.js';
import { deleteTopology, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';

export const AGENT_SYSLOG_KEYS = [
  'agent_syslog_lines_per_s',
  'agent_syslog_cpu_s_per_100k',
  'agent_syslog_rss_mb',
] as const;

/**
 * `logship` alone on issue 15's syslog burst: the same lines over one TCP connection, published to
 * an exchange no collector serves (the records park in its unrouted queue, so the broker confirms
 * at once), timed until the broker confirmed every record. Without a collector and its store on
 * the same two cores, the agent's CPU and peak RSS vary far less from one burst to the next than in
 * the end-to-end burst: this is the figure to compare agent changes by.
 */
export async function agentSyslogBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logship')) {
    for (const key of AGENT_SYSLOG_KEYS) context.notes[key] = 'not measured: logship is not built yet';
    return;
  }
  const count = context.quick ? 200_000 : 1_000_000;
  const chunks = rfc3164Lines(count);
  const runs: { seconds: number; cpuPer100k: number; rssMb: number }[] = [];
  for (let round = 1; round <= context.repeats; round++) {
    const run = await aloneBurst(chunks, count);
    runs.push(run);
    progress(
      `agent syslog round ${round}/${context.repeats}: ${Math.round(count / run.seconds)} lines/s confirmed, ${run.cpuPer100k.toFixed(2)} CPU s per 100k, peak RSS ${run.rssMb.toFixed(1)} MiB`,
    );
  }
  const rates = runs.map((r) => count / r.seconds);
  const cpus = runs.map((r) => r.cpuPer100k);
  const peaks = runs.map((r) => r.rssMb);
  setFigure(context, 'agent_syslog_lines_per_s', median(rates), rates);
  setFigure(context, 'agent_syslog_cpu_s_per_100k', median(cpus), cpus);
  setFigure(context, 'agent_syslog_rss_mb', Math.max(...peaks));
  const quick = context.quick ? `; --quick: ${count.toLocaleString('en-US')} lines` : '';
  context.notes.agent_syslog_lines_per_s = `${roundsNote('median', rates, 0)}${quick}`;
  context.notes.agent_syslog_cpu_s_per_100k = roundsNote('median', cpus, 2);
  context.notes.agent_syslog_rss_mb = roundsNote('largest', peaks, 1);
}

async function aloneBurst(
  chunks: readonly string[],
  count: number,
): Promise<{ seconds: number; cpuPer100k: number; rssMb: number }> {
  const exchange = uniqueName('bench-agent-syslog');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-agent-syslog-'));
  const port = await freePort();
  const agent = startAgent({
    exchange,
    spool: path.join(dir, 'spool'),
    args: ['--syslog', `tcp://127.0.0.1:${port}`],
    start: { stdin: 'ignore' },
  });
  let sender: Socket | undefined;
  try {
    sender = await connectSyslog(port);
    const meter = cpuMeter({ agent: agent.pid });
    const started = performance.now();
    await sendChunks(sender, chunks);
    await waitUntil(
      'every line confirmed',
      () => {
        agent.kill('SIGUSR1');
        return (statsFigure(agent.stderrText(), 'confirmed') ?? 0) >= count;
      },
      300_000,
      100,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = meter().agent ?? 0;
    return { seconds, cpuPer100k: cpu / (count / 100_000), rssMb: agent.peakRssMb() };
  } finally {
    sender?.end();
    await agent.stop(30_000);
    await deleteTopology(exchange);
    rmSync(dir, { recursive: true, force: true });
  }
}
