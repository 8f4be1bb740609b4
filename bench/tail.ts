import { createInterface } from 'node:readline';
import { CONTENT_TYPE_JSON, declareExchanges, topologyNames } from '../protocol/index.js';
import { connect, deleteTopology, uniqueName } from './lib/broker.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { binAvailable, startBin, waitUntil } from './lib/process.js';
import { AMQP_URL } from './lib/broker.js';
import { median, percentile } from './lib/stats.js';

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
}
