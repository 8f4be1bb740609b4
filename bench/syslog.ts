import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setFigure, type BenchContext } from './lib/context.js';
import { brokerPid, cpuMeter } from './lib/cpu.js';
import { progress } from './lib/progress.js';
import { StoreReader, startAgent, startCollector, waitCollectorReady } from './lib/pipeline.js';
import { filler, rng } from './lib/records.js';
import { deleteTopology, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';

export const SYSLOG_KEYS = [
  'syslog_e2e_logs_per_s',
  'syslog_cpu_s_per_100k',
  'syslog_agent_rss_mb',
  'syslog_collector_rss_mb',
  'syslog_spooled_while_connected',
  'syslog_broker_growth_mb',
] as const;

/** 17 facilities × 5 severities = the 85 routing keys of issue 15's workload. */
const FACILITY_CODES = [0, 1, 2, 3, 4, 5, 6, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23];
const SEVERITY_CODES = [2, 3, 4, 5, 6];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 lines of about 200 bytes, newline-framed, cycling through the 85 keys. */
function rfc3164Lines(count: number): string[] {
  const random = rng(3164);
  const chunks: string[] = [];
  const CHUNK = 2_000;
  const now = new Date();
  const stamp = `${MONTHS[now.getMonth()] ?? 'Jan'} ${String(now.getDate()).padStart(2, ' ')} ${now.toTimeString().slice(0, 8)}`;
  for (let n = 0; n < count; n += CHUNK) {
    let chunk = '';
    for (let i = n; i < Math.min(count, n + CHUNK); i++) {
      const facility = FACILITY_CODES[i % FACILITY_CODES.length] ?? 1;
      const severity = SEVERITY_CODES[Math.floor(i / FACILITY_CODES.length) % SEVERITY_CODES.length] ?? 6;
      chunk += `<${facility * 8 + severity}>${stamp} web-${i % 7} app[${1000 + (i % 50)}]: ${filler(`syslog ${i}`, 150, random)}\n`;
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** Resident memory of a process now, MiB (for the broker, whose growth during the burst is reported). */
function rssMb(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? null : Number(match[1]) / 1024;
  } catch {
    return null;
  }
}

/** `spooled=` of the newest stats line logship wrote on stderr (on SIGUSR1): `logship: stats (read=… spooled=…)`. */
function spooledOf(stderr: string): number | null {
  const last = stderr
    .split('\n')
    .filter((line) => line.startsWith('logship: stats'))
    .at(-1);
  const match = last === undefined ? null : /spooled=(\d+)/.exec(last);
  return match === null ? null : Number(match[1]);
}

/**
 * Issue 15's workload: RFC 3164 lines of ~200 bytes over 85 facility.severity keys, sent over ONE
 * TCP connection to `logship --syslog tcp://...` as fast as it takes them, timed until every
 * record is stored and searchable; CPU of agent, collector and broker, and their memory.
 */
export async function syslogBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logship') || !binAvailable('logcollect')) {
    for (const key of SYSLOG_KEYS)
      context.notes[key] = 'not measured: logship or logcollect is not built yet';
    return;
  }
  const count = context.quick ? 200_000 : 1_000_000;
  const chunks = rfc3164Lines(count);
  const exchange = uniqueName('bench-syslog');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-syslog-'));
  const db = path.join(dir, 'warren.db');
  const port = await freePort();
  const collector = startCollector({ exchange, db, port: await freePort() });
  const agent = startAgent({
    exchange,
    spool: path.join(dir, 'spool'),
    args: ['--syslog', `tcp://127.0.0.1:${port}`],
    start: { stdin: 'ignore' },
  });
  const reader = new StoreReader(db);
  try {
    await waitCollectorReady(collector, exchange);
    let socket: net.Socket | null = null;
    await waitUntil(
      'logship to listen for syslog',
      () =>
        new Promise<boolean>((resolve) => {
          const attempt = net.connect(port, '127.0.0.1', () => {
            socket = attempt;
            resolve(true);
          });
          attempt.once('error', () => resolve(false));
        }),
      30_000,
      100,
    );
    const sender = socket as net.Socket | null;
    if (sender === null) throw new Error('no syslog connection');
    const broker = brokerPid();
    const brokerBefore = rssMb(broker);
    let brokerPeak = brokerBefore ?? 0;
    const sampler = setInterval(() => (brokerPeak = Math.max(brokerPeak, rssMb(broker) ?? 0)), 200);
    const meter = cpuMeter({ agent: agent.pid, collector: collector.pid, broker });
    const started = performance.now();
    for (const chunk of chunks) {
      if (!sender.write(chunk)) await new Promise((resolve) => sender.once('drain', resolve));
    }
    const sentAt = performance.now();
    // max(seq) is O(1); count(*) walks an index of up to 1M rows, and polled every 20 ms it took
    // a share of the 2 cores and held a read snapshot that kept the WAL from being checkpointed.
    await waitUntil(
      'every syslog record stored',
      () => reader.maxSeq() >= count && reader.count() >= count,
      600_000,
      20,
    );
    const wall = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const cpu = meter();
    const rate = count / wall;
    const perHundredK = ((cpu.agent ?? 0) + (cpu.collector ?? 0) + (cpu.broker ?? 0)) / (count / 100_000);
    agent.kill('SIGUSR1');
    await waitUntil('logship stats', () => spooledOf(agent.stderrText()) !== null, 5_000, 50).catch(
      () => undefined,
    );
    const spooled = spooledOf(agent.stderrText());
    progress(
      `syslog e2e: ${Math.round(rate)} records/s (sender done after ${((sentAt - started) / 1000).toFixed(1)} s, all stored after ${wall.toFixed(1)} s); CPU s per 100k: agent ${((cpu.agent ?? 0) / (count / 100_000)).toFixed(2)}, collector ${((cpu.collector ?? 0) / (count / 100_000)).toFixed(2)}, broker ${((cpu.broker ?? 0) / (count / 100_000)).toFixed(2)}; spooled ${String(spooled)}`,
    );
    setFigure(context, 'syslog_e2e_logs_per_s', rate);
    setFigure(context, 'syslog_cpu_s_per_100k', perHundredK);
    setFigure(context, 'syslog_agent_rss_mb', agent.peakRssMb());
    setFigure(context, 'syslog_collector_rss_mb', collector.peakRssMb());
    setFigure(context, 'syslog_spooled_while_connected', spooled);
    setFigure(context, 'syslog_broker_growth_mb', brokerBefore === null ? null : brokerPeak - brokerBefore);
    context.notes.syslog_cpu_s_per_100k = `agent ${((cpu.agent ?? 0) / (count / 100_000)).toFixed(2)}, collector ${((cpu.collector ?? 0) / (count / 100_000)).toFixed(2)}, broker ${((cpu.broker ?? 0) / (count / 100_000)).toFixed(2)}`;
    if (context.quick)
      context.notes.syslog_e2e_logs_per_s = `--quick: ${count.toLocaleString('en-US')} lines, not 1,000,000`;
    sender.end();
  } finally {
    reader.close();
    await agent.stop(30_000);
    await collector.stop(15_000);
    await deleteTopology(exchange);
    rmSync(dir, { recursive: true, force: true });
  }
}
