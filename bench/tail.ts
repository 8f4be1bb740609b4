import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import {
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_NDJSON,
  declareExchanges,
  encodeBatch,
  sleep,
  topologyNames,
} from '../protocol/index.js';
import { cpuSeconds } from './lib/cpu.js';
import { AMQP_URL, deleteTopology, openConnection as connect, uniqueName } from '../testkit/broker.js';
import { binAvailable, binPath, peakRssMb, repoRoot, startBin } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { makeRecords } from './lib/records.js';
import { median, percentile } from './lib/stats.js';

const execFileAsync = promisify(execFile);

/**
 * `logtail --json` as a script uses it: records published one per message at a fixed 1,000/s
 * (persistent, confirmed later), timed from publish to the line on the tail's stdout.
 */
export async function tailBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logtail')) {
    context.notes.tail_p99_ms = 'not measured: logtail is not built yet';
    context.notes.tail_p50_ms = context.notes.tail_p99_ms;
    return;
  }
  const exchange = uniqueName('bench-tail');
  const connection = await connect('bench-tail-publisher');
  const tail = startBin('logtail', ['--amqp', AMQP_URL, '--exchange', exchange, '--json', '#'], {
    stdin: 'ignore',
  });
  try {
    await declareExchanges(connection, topologyNames(exchange));
    const channel = await connection.createConfirmChannel();
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let probes = 0;
    const stdout = tail.process.stdout;
    if (stdout === null) throw new Error('logtail has no stdout');
    const lines = createInterface({ input: stdout });
    lines.on('line', (line) => {
      const now = performance.now();
      let msg: unknown;
      try {
        msg = (JSON.parse(line) as { msg?: unknown }).msg;
      } catch {
        return;
      }
      if (typeof msg !== 'string') return;
      if (msg.startsWith('tail probe')) probes++;
      const sent = sentAt.get(msg);
      if (sent !== undefined) {
        latencies.push(now - sent);
        sentAt.delete(msg);
      }
    });
    const publish = (msg: string): void => {
      channel.publish(
        exchange,
        'bench.info',
        Buffer.from(JSON.stringify({ msg, host: 'bench', app: 'tail' })),
        {
          persistent: true,
          contentType: CONTENT_TYPE_JSON,
          timestamp: Date.now(),
        },
      );
    };
    // Its queue is bound once a probe comes through.
    await waitUntil(
      'logtail to print a probe',
      () => {
        if (tail.hasExited()) throw new Error(`logtail exited: ${tail.stderrTail()}`);
        publish(`tail probe ${Date.now()}`);
        return probes > 0;
      },
      30_000,
      200,
    );
    const seconds = context.quick ? 2 : 5;
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let run = context.quick ? 0 : -1; run < context.repeats; run++) {
      latencies.length = 0;
      const total = 1_000 * seconds;
      const started = performance.now();
      // 10 records every 10 ms: 1,000/s, each timed from its own publish.
      for (let n = 0; n < total; n += 10) {
        const wait = started + n - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        for (let i = n; i < n + 10; i++) {
          const msg = `tail r${run} ${i}`;
          sentAt.set(msg, performance.now());
          publish(msg);
        }
      }
      await channel.waitForConfirms();
      await waitUntil(`${total} tailed records`, () => latencies.length >= total, 30_000, 20);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      progress(
        `tail ${run < 0 ? 'warm-up' : `run ${run + 1}/${context.repeats}`}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
      );
      if (run >= 0) {
        p50s.push(p50);
        p99s.push(p99);
      }
    }
    setFigure(context, 'tail_p50_ms', median(p50s), p50s);
    setFigure(context, 'tail_p99_ms', median(p99s), p99s);
  } finally {
    await tail.stop(5_000);
    await connection.close().catch(() => undefined);
    await deleteTopology(exchange);
  }
  await tailScreenBench(context);
}

/** The Ink screen's input rate and length of issue 6's memory target. */
const SCREEN_RATE = 20_000;
const SCREEN_BATCH = 50;

/** The screen's first two header lines say `N total · M dropped`. */
function screenCounts(screen: string): { total: number; dropped: number } | null {
  const match = /([\d,]+) total · ([\d,]+) dropped/.exec(screen);
  if (match?.[1] === undefined || match[2] === undefined) return null;
  return { total: Number(match[1].replace(/,/g, '')), dropped: Number(match[2].replace(/,/g, '')) };
}

/**
 * The real `logtail '#'` drawing its Ink screen in a 160x45 tmux pane (a terminal, so stdin and
 * stdout are TTYs) while 20,000 records/s arrive as 50-record NDJSON messages, for 60 s (10 s with
 * --quick): its peak RSS (VmHWM) against issue 6's 150 MB.
 */
export async function tailScreenBench(
  context: BenchContext,
  seconds = context.quick ? 10 : 60,
): Promise<void> {
  const socket = uniqueName('bench-tail-screen');
  const exchange = uniqueName('bench-tail-screen');
  const tmux = (...args: string[]): Promise<string> =>
    execFileAsync('tmux', ['-L', socket, ...args], { encoding: 'utf8' }).then((r) => r.stdout);
  const capture = (): Promise<string> => tmux('capture-pane', '-p', '-t', 'tail').catch(() => '');
  const connection = await connect('bench-tail-screen-publisher');
  let socketPath = '';
  let pid = 0;
  try {
    await declareExchanges(connection, topologyNames(exchange));
    const quoted = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
    // exec: the pane's process is logtail itself, so its pid is the one to sample.
    const command = [
      'exec env CI=false',
      quoted(process.execPath),
      // Tuning experiments without editing code, e.g. WARREN_BENCH_TAIL_NODE_ARGS='--max-semi-space-size=4'.
      ...(process.env.WARREN_BENCH_TAIL_NODE_ARGS ?? '')
        .split(' ')
        .filter((arg) => arg !== '')
        .map(quoted),
      quoted(binPath('logtail')),
      '--amqp',
      quoted(AMQP_URL),
      '--exchange',
      quoted(exchange),
      quoted('#'),
    ].join(' ');
    await tmux('new-session', '-d', '-x', '160', '-y', '45', '-s', 'tail', '-c', repoRoot(), command);
    socketPath = (await tmux('display-message', '-p', '-t', 'tail', '#{socket_path}')).trim();
    pid = Number((await tmux('list-panes', '-t', 'tail', '-F', '#{pane_pid}')).trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error('cannot find logtail in its tmux pane');
    const channel = await connection.createChannel();
    // One pre-encoded set of batches, rotated: the harness's own cost stays small.
    const records = makeRecords(SCREEN_BATCH * 40, 200, 'bench-screen');
    const batches: { key: string; body: Buffer }[] = [];
    for (let i = 0; i < records.length; i += SCREEN_BATCH) {
      const batch = records.slice(i, i + SCREEN_BATCH);
      batches.push({
        key: batch[0]?.routingKey ?? 'bench.info',
        body: encodeBatch(batch.map((r) => r.record)),
      });
    }
    let flowing = true;
    channel.on('drain', () => {
      flowing = true;
    });
    const publish = (key: string, body: Buffer): void => {
      flowing = channel.publish(exchange, key, body, {
        contentType: CONTENT_TYPE_NDJSON,
        timestamp: Date.now(),
      });
    };
    // Its queue is bound once a probe shows on the screen.
    await waitUntil(
      'logtail to draw a probe',
      async () => {
        if (peakRssMb(pid) === null) throw new Error(`logtail exited: ${await capture()}`);
        publish('bench.notice', encodeBatch([{ msg: 'screen probe', host: 'bench', app: 'tail' }]));
        return (await capture()).includes('screen probe');
      },
      30_000,
      200,
    );
    const perTick = SCREEN_RATE / SCREEN_BATCH / 100; // messages every 10 ms
    const cpuBefore = cpuSeconds(pid) ?? 0;
    const started = performance.now();
    let sent = 0;
    for (let tick = 0; tick < seconds * 100; tick++) {
      const wait = started + tick * 10 - performance.now();
      if (wait > 0) await sleep(wait);
      if (!flowing) await waitUntil('the publish channel to drain', () => flowing, 30_000, 5);
      for (let m = 0; m < perTick; m++) {
        const batch = batches[(tick * perTick + m) % batches.length];
        if (batch !== undefined) publish(batch.key, batch.body);
        sent += SCREEN_BATCH;
      }
      if (tick % 1000 === 999)
        progress(`tail screen: ${(tick + 1) / 100} s, RSS peak ${peakRssMb(pid)?.toFixed(0)} MiB`);
    }
    const elapsed = (performance.now() - started) / 1000;
    // How busy the screen kept its core (CPU seconds per wall second): the price of any memory setting.
    const busy = ((cpuSeconds(pid) ?? cpuBefore) - cpuBefore) / elapsed;
    await sleep(1_000);
    const peak = peakRssMb(pid);
    if (peak === null) throw new Error(`logtail exited during the flood: ${await capture()}`);
    const counts = screenCounts(await capture());
    const shown =
      counts === null
        ? 'counts not found on the screen'
        : `${counts.total} received, ${counts.dropped} dropped by the capped queue`;
    progress(
      `tail screen: ${sent} records in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(0)}/s), ${shown}, peak RSS ${peak.toFixed(0)} MiB`,
    );
    context.notes.tail_screen_rss_mb = `${sent} records sent in ${elapsed.toFixed(0)} s; ${shown}; logtail CPU ${busy.toFixed(2)} s/s`;
    setFigure(context, 'tail_screen_rss_mb', peak);
  } finally {
    // SIGTERM first: logtail quits as on Ctrl-C (closing its connection, writing a --cpu-prof profile).
    if (pid > 0 && peakRssMb(pid) !== null) {
      process.kill(pid, 'SIGTERM');
      await waitUntil('logtail to quit', () => peakRssMb(pid) === null, 5_000, 50).catch(() => undefined);
    }
    await tmux('kill-server').catch(() => undefined);
    // tmux leaves its socket file behind.
    if (socketPath !== '') rmSync(socketPath, { force: true });
    await connection.close().catch(() => undefined);
    await deleteTopology(exchange);
  }
}
