import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../protocol/index.js';
import { freePort, startBrokerProxy } from '../../testkit/net.js';
import { runBin, stopBin } from '../../testkit/processes.js';
import { useRealCollector } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';

/**
 * What logship --http answers when it cannot take a request (issue 18): a full spool is 503 with
 * Retry-After (OTLP and Loki) or per-item 429 (Elasticsearch, so a bulk helper retries only those),
 * a body over --http-max-body is 413 whether sent so or once decompressed, and what was answered
 * 2xx before the spool filled is delivered when the broker is back.
 */
describe('logship --http refuses what it cannot keep, and says when to come back', () => {
  const suite = useRealCollector('doors-full');

  it('answers 503/429 with Retry-After while the spool is full, 413 over the body cap, and delivers what it said it kept', async () => {
    const { proxy, url } = await startBrokerProxy();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const ship = runBin(
      'logship',
      [
        ...['--amqp', url, '--exchange', suite.exchange, '--spool', path.join(suite.dir, 'spool')],
        ...['--spool-max', '24k', '--http', `127.0.0.1:${port}`, '--http-max-body', '64k', '-v'],
      ],
      { keepStdinOpen: true },
    );
    try {
      await waitUntil('logship listens', () => ship.stderr().includes('listening on http'));
      await proxy.cut();

      // Loki pushes of 40 entries until the spool is full.
      const kept: string[] = [];
      let refused: Response | undefined;
      let refusedAfterMs = 0;
      for (let n = 0; n < 40 && refused === undefined; n++) {
        const lines = Array.from({ length: 40 }, (_, i) => `push ${n} entry ${i} `.padEnd(120, '.'));
        const started = Date.now();
        const res = await fetch(`${base}/loki/api/v1/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            streams: [
              {
                stream: { service_name: 'full-spool' },
                values: lines.map((line) => [String(BigInt(Date.now()) * 1_000_000n), line]),
              },
            ],
          }),
        });
        if (res.status === 204) kept.push(...lines);
        else {
          refused = res;
          refusedAfterMs = Date.now() - started;
        }
      }
      expect(kept.length).toBeGreaterThan(0);
      expect(refused?.status).toBe(503);
      expect(refused?.headers.get('retry-after')).toBe('5');
      expect(await refused?.text()).toContain('spool');
      // Told at once, not after the 30 s a request may wait for its records to be safe.
      expect(refusedAfterMs).toBeLessThan(5_000);

      // While it is full: OTLP is 503 with a google.rpc.Status (UNAVAILABLE), nothing is taken.
      const otlp = await fetch(`${base}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'full-otlp' } }] },
              scopeLogs: [{ logRecords: [{ body: { stringValue: 'not now' } }] }],
            },
          ],
        }),
      });
      expect(otlp.status).toBe(503);
      expect(otlp.headers.get('retry-after')).toBe('5');
      const unavailable = (await otlp.json()) as RpcStatus;
      expect(unavailable.code).toBe(14);
      expect(unavailable.message).toContain('spool is full');

      // Elasticsearch: 200 with every item 429, as a loaded cluster answers; a bulk helper retries those.
      const es = await fetch(`${base}/_bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: '{"index":{"_index":"full"}}\n{"message":"a","service.name":"full-es"}\n{"create":{}}\n{"message":"b","service.name":"full-es"}\n',
      });
      expect(es.status).toBe(200);
      const bulk = (await es.json()) as {
        errors: boolean;
        items: Record<string, { status: number; error?: { type: string } }>[];
      };
      expect(bulk.errors).toBe(true);
      expect(bulk.items.map((i) => [Object.values(i)[0]?.status, Object.values(i)[0]?.error?.type])).toEqual([
        [429, 'es_rejected_execution_exception'],
        [429, 'es_rejected_execution_exception'],
      ]);

      // Over the body cap: 413 as sent, and 413 once decompressed (a gzip bomb is not inflated past it).
      const big = await fetch(`${base}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceLogs: [], pad: 'x'.repeat(80 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(await big.text()).toContain('--http-max-body');
      const bomb = await fetch(`${base}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: zlib.gzipSync(JSON.stringify({ resourceLogs: [], pad: ' '.repeat(1024 * 1024) })),
      });
      expect(bomb.status).toBe(413);
      // INVALID_ARGUMENT: an OTLP client does not retry it.
      const invalid = (await bomb.json()) as RpcStatus;
      expect(invalid.code).toBe(3);
      expect(invalid.message).toContain('decompressed body over 65536 bytes');

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/warren_http_requests_total\{door="loki",status="503"\} 1\n/);
      expect(metrics).toMatch(/warren_http_requests_total\{door="otlp",status="503"\} 1\n/);
      expect(metrics).toMatch(/warren_http_requests_total\{door="otlp",status="413"\} 2\n/);

      // The broker is back: every entry that was answered 204 is stored, and the doors take again.
      await proxy.restore();
      const rows = await waitForMsgs(suite.api, 'full-spool.#', kept);
      expect(rows.every((r) => r.facility === 'full-spool' && r.app === 'full-spool')).toBe(true);
      await waitUntil(
        'the receiver takes requests again',
        async () => {
          const res = await fetch(`${base}/_bulk`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: '{"index":{}}\n{"message":"back","service.name":"full-back"}\n',
          });
          return ((await res.json()) as { errors: boolean }).errors === false;
        },
        30_000,
      );
      await waitForMsgs(suite.api, 'full-back.#', ['back']);
    } finally {
      await stopBin(ship);
      await proxy.close();
    }
  }, 90_000);
});

/** google.rpc.Status, the body of an OTLP error answer. */
interface RpcStatus {
  code: number;
  message: string;
}

/** Waits until every message in `msgs` is stored under `pattern`; returns the rows. */
async function waitForMsgs(api: string, pattern: string, msgs: readonly string[]): Promise<StoredRecord[]> {
  let rows: StoredRecord[] = [];
  await waitUntil(
    `${msgs.length} records under ${pattern}`,
    async () => {
      const url = `${api}/api/logs?since=1h&limit=5000&order=asc&pattern=${encodeURIComponent(pattern)}`;
      rows = ((await (await fetch(url)).json()) as { records: StoredRecord[] }).records;
      const stored = new Set(rows.map((r) => r.msg));
      return msgs.every((m) => stored.has(m));
    },
    45_000,
  );
  return rows;
}
