import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeMessage, ExportLogsServiceRequest } from '../agents/inputs/http/proto.js';
import { declareExchanges, topologyNames } from '../protocol/index.js';
import { deleteTopology, openConnection as connect, uniqueName } from '../testkit/broker.js';
import { freePort } from '../testkit/net.js';
import { binAvailable } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';
import { setFigure, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { startAgent } from './lib/pipeline.js';
import { median } from './lib/stats.js';
import { buildLines, feedLines } from './e2e.js';

export const HTTP_KEYS = ['http_stdin_per_s', 'http_otlp_per_s', 'http_vs_stdin', 'http_rss_mb'];

/** Records per OTLP request, as the issue asks (an SDK's batch processor sends up to 512; the Collector more). */
const PER_REQUEST = 1_000;
/** Requests in flight at once (more only adds the sender's own load on this 2-core machine). */
const IN_FLIGHT = 4;

/** A few distinct ExportLogsServiceRequest bodies of PER_REQUEST records of ~200 bytes each. */
function otlpBodies(): Buffer[] {
  const bodies: Buffer[] = [];
  for (let b = 0; b < 8; b++) {
    const logRecords = Array.from({ length: PER_REQUEST }, (_, i) => ({
      time_unix_nano: String(BigInt(Date.now()) * 1_000_000n + BigInt(i)),
      severity_number: 9 + (i % 4 === 0 ? 8 : 0),
      body: {
        string_value: `request ${b}-${i} served GET /api/orders/${i * 7919} in ${i % 900} ms `.padEnd(
          150,
          'x',
        ),
      },
      attributes: [
        { key: 'http.status_code', value: { int_value: String(i % 7 === 0 ? 500 : 200) } },
        { key: 'user.id', value: { string_value: `u${i % 97}` } },
      ],
    }));
    bodies.push(
      encodeMessage(ExportLogsServiceRequest, {
        resource_logs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { string_value: 'bench-otlp' } }] },
            scope_logs: [{ scope: { name: 'bench' }, log_records: logRecords }],
          },
        ],
      }),
    );
  }
  return bodies;
}

/** Messages in the queue until it is empty; returns the records they held. */
async function drainCount(queue: string): Promise<number> {
  const connection = await connect('bench-http-drain');
  try {
    const channel = await connection.createChannel();
    let records = 0;
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      for (const byte of message.content) if (byte === 0x0a) records++;
      if (message.content.at(-1) !== 0x0a) records++;
    }
    return records;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * The HTTP receiver (issue 18): OTLP protobuf requests of 1,000 records, 10 in flight, to a 2xx
 * (every record confirmed by the broker), next to `logship` stdin's confirmed rate in the same
 * run; the receiver's peak RSS under that sustained load.
 */
export async function httpBench(context: BenchContext): Promise<void> {
  if (!binAvailable('logship')) {
    for (const key of HTTP_KEYS) context.notes[key] = 'not measured: logship is not built yet';
    return;
  }
  const exchange = uniqueName('bench-http');
  const queue = `${exchange}.sink`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-http-'));
  const connection = await connect('bench-http-setup');
  const count = context.quick ? 50_000 : 300_000;
  try {
    await declareExchanges(connection, topologyNames(exchange));
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, '#');
    const stdinRates: number[] = [];
    const httpRates: number[] = [];
    let rss = 0;
    const bodies = otlpBodies();
    for (let run = 0; run < context.repeats; run++) {
      // stdin: the reference, timed from the first line to logship's exit (all confirmed).
      const agent = startAgent({ exchange, spool: path.join(dir, `stdin-${run}`) });
      const stdin = agent.process.stdin;
      if (stdin === null) throw new Error('logship has no stdin');
      const lines = buildLines(`http r${run}`, count);
      let started = performance.now();
      await feedLines(stdin, lines);
      stdin.end();
      if ((await agent.exited) !== 0) throw new Error(`logship exited badly: ${agent.stderrTail()}`);
      stdinRates.push(count / ((performance.now() - started) / 1000));
      const viaStdin = await drainCount(queue);
      if (viaStdin !== count) throw new Error(`logship stdin confirmed ${viaStdin} of ${count}`);

      // HTTP: the same number of records as OTLP requests; a 2xx means confirmed (the broker is up).
      const port = await freePort();
      const receiver = startAgent({
        exchange,
        spool: path.join(dir, `http-${run}`),
        args: ['--http', `127.0.0.1:${port}`],
      });
      const url = `http://127.0.0.1:${port}/v1/logs`;
      await waitUntil(
        'the receiver',
        async () =>
          (
            await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/x-protobuf' },
              body: new Uint8Array(),
            }).catch(() => undefined)
          )?.ok === true,
        30_000,
        50,
      );
      let next = 0;
      const requests = count / PER_REQUEST;
      started = performance.now();
      const sender = async (): Promise<void> => {
        while (next < requests) {
          const body = bodies[next++ % bodies.length] ?? Buffer.alloc(0);
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/x-protobuf' },
            body,
          });
          if (res.status !== 200) throw new Error(`OTLP request answered ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
      httpRates.push(count / ((performance.now() - started) / 1000));
      rss = Math.max(rss, receiver.peakRssMb());
      await receiver.stop(15_000);
      const viaHttp = await drainCount(queue);
      if (viaHttp !== count) throw new Error(`the receiver confirmed ${viaHttp} of ${count}`);
      progress(
        `http run ${run + 1}/${context.repeats}: stdin ${Math.round(stdinRates.at(-1) ?? 0)}/s, OTLP ${Math.round(httpRates.at(-1) ?? 0)}/s, receiver RSS ${rss.toFixed(0)} MiB`,
      );
    }
    setFigure(context, 'http_stdin_per_s', median(stdinRates), stdinRates);
    setFigure(context, 'http_otlp_per_s', median(httpRates), httpRates);
    setFigure(context, 'http_vs_stdin', median(httpRates) / median(stdinRates));
    setFigure(context, 'http_rss_mb', rss);
  } finally {
    await connection.close().catch(() => undefined);
    await deleteTopology(exchange, [queue]);
    rmSync(dir, { recursive: true, force: true });
  }
}
