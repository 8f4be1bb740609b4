import path from 'node:path';
import zlib from 'node:zlib';
import { Client } from '@elastic/elasticsearch';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { ExportResultCode } from '@opentelemetry/core';
import pino from 'pino';
import pinoLoki from 'pino-loki';
import snappy from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, ExportLogsServiceRequest, LokiPushRequest } from '../../agents/inputs/http/proto.js';
import type { StoredRecord } from '../../protocol/index.js';
import { freePort, startBrokerProxy } from '../../testkit/net.js';
import { runBin, stopBin, type RunningBin } from '../../testkit/processes.js';
import { useRealCollector } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';

type Row = StoredRecord;
const TOKEN = 'doors-test-token';
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

/**
 * logship --http (issue 18) through the real clients: the OpenTelemetry JS SDK with its OTLP/HTTP
 * JSON and protobuf exporters, pino-loki, and the official Elasticsearch client's bulk helper →
 * logship → RabbitMQ → logcollect → the API, checked field by field.
 */
describe('logship --http takes OTLP, Loki push and Elasticsearch bulk from their own clients', () => {
  const suite = useRealCollector('doors');
  let ship: RunningBin;
  let base = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ship = runBin(
      'logship',
      [
        '-v',
        '--http',
        `127.0.0.1:${port}`,
        '--exchange',
        suite.exchange,
        '--spool',
        path.join(suite.dir, 'spool'),
      ],
      { keepStdinOpen: true, env: { WARREN_HTTP_TOKEN: TOKEN } },
    );
    await waitUntil('logship listens', () => ship.stderr().includes('listening on http'));
  }, 60_000);

  afterAll(async () => {
    if (ship !== undefined) await stopBin(ship);
  });

  const stored = (pattern: string, count: number): Promise<Row[]> => waitForRows(suite.api, pattern, count);

  const otelSend = async (exporter: LogRecordExporter, service: string): Promise<void> => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({
        'service.name': service,
        'host.name': 'web-3',
        'deployment.environment': 'prod',
      }),
      processors: [new BatchLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger('checkout-scope');
    logger.emit({
      timestamp: new Date('2026-11-30T10:00:00.123Z'),
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: 'payment failed',
      attributes: { 'http.status_code': 502, 'user.id': 'bob', retry: true },
      // Emitted inside a span: the record carries its trace and span ids.
      context: trace.setSpanContext(ROOT_CONTEXT, {
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        traceFlags: TraceFlags.SAMPLED,
      }),
    });
    logger.emit({
      timestamp: new Date('2026-11-30T10:00:01Z'),
      severityNumber: SeverityNumber.WARN,
      body: { message: 'slow checkout', duration_ms: 812 },
    });
    logger.emit({
      timestamp: new Date('2026-11-30T10:00:02Z'),
      severityText: 'debug',
      body: 'cart loaded',
      attributes: { 'cart.items': ['sku-1', 'sku-2'], ratio: 0.25 },
    });
    await provider.forceFlush();
    await provider.shutdown();
  };

  for (const [name, make] of [
    [
      'JSON',
      (url: string) => new OtlpHttpJsonExporter({ url, headers: { authorization: `Bearer ${TOKEN}` } }),
    ],
    [
      'protobuf',
      (url: string) => new OtlpProtoExporter({ url, headers: { authorization: `Bearer ${TOKEN}` } }),
    ],
    [
      'protobuf gzip',
      (url: string) =>
        new OtlpProtoExporter({
          url,
          headers: { authorization: `Bearer ${TOKEN}` },
          compression: CompressionAlgorithm.GZIP,
        }),
    ],
  ] as const) {
    it(`stores what the OpenTelemetry SDK exports over OTLP/HTTP ${name}`, async () => {
      const service = `checkout-${name.toLowerCase().replace(' ', '-')}`;
      await otelSend(make(`${base}/v1/logs`), service);
      const rows = await stored(`${service}.#`, 3);
      const [failed, slow, cart] = rows;
      expect(failed).toMatchObject({
        ts: '2026-11-30T10:00:00.123Z',
        facility: service,
        severity: 'error',
        routing_key: `${service}.error`,
        msg: 'payment failed',
        host: 'web-3',
        app: service,
        fields: {
          http: { status_code: 502 },
          user: { id: 'bob' },
          retry: true,
          deployment: { environment: 'prod' },
          otel: { scope: 'checkout-scope' },
          trace_id: TRACE_ID,
          span_id: SPAN_ID,
        },
      });
      expect(failed?.pid).toBeUndefined();
      expect(slow).toMatchObject({
        ts: '2026-11-30T10:00:01.000Z',
        severity: 'warning',
        msg: 'slow checkout',
        fields: { duration_ms: 812, deployment: { environment: 'prod' } },
      });
      // No span, no ids; severity_text alone gives the severity.
      expect(slow?.fields).not.toHaveProperty('trace_id');
      expect(cart).toMatchObject({
        ts: '2026-11-30T10:00:02.000Z',
        severity: 'debug',
        msg: 'cart loaded',
        fields: { cart: { items: ['sku-1', 'sku-2'] }, ratio: 0.25 },
      });
    });
  }

  it('stores what pino-loki pushes: labels to facility and fields, the JSON line read as pino', async () => {
    const stream = pinoLoki({
      host: base,
      batching: false,
      labels: { service_name: 'billing', env: 'prod' },
      headers: { authorization: `Bearer ${TOKEN}` },
      silenceErrors: false,
    });
    const logger = pino({ base: { hostname: 'pay-1', pid: 4242 } }, stream);
    logger.warn({ order: 17 }, 'card declined');
    logger.info('receipt sent');
    const rows = await stored('billing.#', 2);
    expect(rows[0]).toMatchObject({
      facility: 'billing',
      severity: 'warning',
      msg: 'card declined',
      host: 'pay-1',
      pid: 4242,
      fields: { order: 17, env: 'prod' },
    });
    expect(rows[1]).toMatchObject({ severity: 'info', msg: 'receipt sent' });
    stream.end();
  });

  it('stores a snappy protobuf Loki push (Promtail, Alloy and Vector send these)', async () => {
    const nanos = BigInt(Date.parse('2026-11-30T11:00:00Z')) * 1_000_000n;
    const body = snappy.compress(
      encodeMessage(LokiPushRequest, {
        streams: [
          {
            labels: '{job="varlogs", host="db-2", filename="/var/log/syslog"}',
            entries: [
              {
                timestamp: { seconds: String(nanos / 1_000_000_000n), nanos: 5_000_000 },
                line: 'level=error msg="disk full"',
              },
              {
                timestamp: { seconds: String(nanos / 1_000_000_000n + 1n), nanos: 0 },
                line: 'WARN: inode usage 91%',
                structuredMetadata: [{ name: 'trace_id', value: 't-1' }],
              },
            ],
          },
        ],
      }),
    );
    const res = await fetch(`${base}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TOKEN}` },
      body,
    });
    expect(res.status).toBe(204);
    const rows = await stored('varlogs.#', 2);
    expect(rows[0]).toMatchObject({
      ts: '2026-11-30T11:00:00.005Z',
      severity: 'error',
      host: 'db-2',
      app: 'varlogs',
      msg: 'level=error msg="disk full"',
      fields: { filename: '/var/log/syslog' },
    });
    expect(rows[1]).toMatchObject({
      severity: 'warning',
      msg: 'WARN: inode usage 91%',
      fields: { trace_id: 't-1' },
    });
  });

  it('stores what the Elasticsearch client bulk-indexes, ECS fields mapped, and answers per item', async () => {
    // compression: the client gzips its request bodies.
    const client = new Client({ node: base, auth: { bearer: TOKEN }, compression: true });
    const info = await client.info();
    expect(info.version.number).toMatch(/^\d+\.\d+\.\d+$/);
    // What Vector, Logstash and Filebeat ask before they ship: answered, nothing stored.
    expect((await client.cluster.health()).status).toBe('green');
    expect(await client.indices.existsIndexTemplate({ name: 'logs-shop' })).toBe(true);
    expect(
      await client.indices.putIndexTemplate({ name: 'logs-shop', index_patterns: ['logs-shop*'] }),
    ).toMatchObject({ acknowledged: true });
    const docs = [
      {
        '@timestamp': '2026-11-30T12:00:00.250Z',
        message: 'order placed',
        log: { level: 'INFO' },
        host: { name: 'shop-1' },
        service: { name: 'shop' },
        process: { pid: 77 },
        order: { id: 'A-1' },
      },
      {
        '@timestamp': 1796040001000,
        message: 'stock low',
        'log.level': 'warn',
        'service.name': 'shop',
        sku: 'X9',
      },
    ];
    const result = await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ create: { _index: 'logs-shop' } }),
    });
    expect(result).toMatchObject({ total: 2, successful: 2, failed: 0 });
    const rows = await stored('shop.#', 2);
    expect(rows[0]).toMatchObject({
      ts: '2026-11-30T12:00:00.250Z',
      facility: 'shop',
      severity: 'info',
      msg: 'order placed',
      host: 'shop-1',
      app: 'shop',
      pid: 77,
      fields: { order: { id: 'A-1' }, index: 'logs-shop' },
    });
    expect(rows[1]).toMatchObject({
      ts: new Date(1796040001000).toISOString(),
      severity: 'warning',
      msg: 'stock low',
      fields: { sku: 'X9' },
    });
    // delete and update are refused item by item; the index items still succeed.
    const res = await fetch(`${base}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
      body: '{"delete":{"_index":"x","_id":"1"}}\n{"index":{"_index":"mixed"}}\n{"message":"kept","service.name":"mixed-door"}\n{"index":{}}\nnot json\n',
    });
    const bulk = (await res.json()) as { errors: boolean; items: Record<string, { status: number }>[] };
    expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(bulk.errors).toBe(true);
    expect(bulk.items.map((i) => Object.values(i)[0]?.status)).toEqual([400, 201, 400]);
    await stored('mixed-door.#', 1);
  });

  it('takes twelve OTLP requests at once: each answered 200 with an empty response, every record stored exactly once', async () => {
    const requests = 12;
    const per = 400;
    const bodies = Array.from({ length: requests }, (_, r) =>
      encodeMessage(ExportLogsServiceRequest, {
        resource_logs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { string_value: 'crowd' } }] },
            scope_logs: [
              {
                log_records: Array.from({ length: per }, (_, i) => ({
                  severity_number: 9,
                  body: { string_value: `request ${r} record ${i}` },
                })),
              },
            ],
          },
        ],
      }),
    );
    const answers = await Promise.all(
      bodies.map((body) =>
        fetch(`${base}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TOKEN}` },
          body,
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: requests }, () => 200));
    // An empty ExportLogsServiceResponse: no partial_success.
    expect(await Promise.all(answers.map(async (a) => (await a.arrayBuffer()).byteLength))).toEqual(
      Array.from({ length: requests }, () => 0),
    );
    let rows: Row[] = [];
    await waitUntil(
      `${requests * per} records under crowd.#`,
      async () => {
        const url = `${suite.api}/api/logs?since=1h&limit=10000&pattern=crowd.%23`;
        rows = ((await (await fetch(url)).json()) as { records: Row[] }).records;
        return rows.length >= requests * per;
      },
      30_000,
    );
    expect(rows).toHaveLength(requests * per);
    expect(new Set(rows.map((r) => r.msg)).size).toBe(requests * per);
    expect(new Set(rows.map((r) => r.id)).size).toBe(requests * per);
  });

  it('refuses without the token, and refuses a malformed request whole: nothing of it is published', async () => {
    const noAuth = await fetch(`${base}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noAuth.status).toBe(401);
    // A web page's POST (browsers always send Origin cross-site) is refused even with the token.
    const fromPage = await fetch(`${base}/_bulk`, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        origin: 'https://evil.example',
        authorization: `Bearer ${TOKEN}`,
      },
      body: '{"index":{}}\n{"message":"injected","service.name":"from-page"}\n',
    });
    expect(fromPage.status).toBe(403);
    expect(await fromPage.text()).toContain('does not take requests from web pages');
    const body = JSON.stringify({
      streams: [
        {
          stream: { service_name: 'half' },
          values: [
            [String(Date.now() * 1e6), 'first is fine'],
            [12, 'bad timestamp'],
          ],
        },
      ],
    });
    const bad = await fetch(`${base}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("a Loki entry's timestamp must be nanoseconds as a string");
    const type = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` },
      body: 'x',
    });
    expect(type.status).toBe(415);
    const gz = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Bearer ${TOKEN}`,
      },
      body: zlib.gzipSync(
        JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gzipped' } }] },
              scopeLogs: [{ logRecords: [{ body: { stringValue: 'compressed' } }] }],
            },
          ],
        }),
      ),
    });
    expect(gz.status).toBe(200);
    await stored('gzipped.#', 1);
    // The good entry of the refused push was never published.
    const page = (await (await fetch(`${suite.api}/api/logs?since=1h&pattern=from-page.%23`)).json()) as {
      records: Row[];
    };
    expect(page.records).toEqual([]);
    const half = (await (await fetch(`${suite.api}/api/logs?since=1h&pattern=half.%23`)).json()) as {
      records: Row[];
    };
    expect(half.records).toEqual([]);
    const metrics = await (
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/warren_http_requests_total\{door="loki",status="400"\} 1\n/);
    // A request refused before any door read it is counted under the door its URL names.
    expect(metrics).toMatch(/warren_http_requests_total\{door="loki",status="401"\} 1\n/);
    expect(metrics).toMatch(/warren_http_requests_total\{door="otlp",status="415"\} 1\n/);
    expect(metrics).toMatch(/warren_http_records_total\{door="otlp"\} \d+/);
    expect(metrics).toMatch(/warren_http_request_bytes_total\{door="loki"\} [1-9]\d*\n/);
    // The same figures in logship's stats line (SIGUSR1, --verbose).
    await waitUntil('the stats line has the receiver figures', async () => {
      ship.child.kill('SIGUSR1');
      await new Promise((resolve) => setTimeout(resolve, 100));
      return /http_requests=\d+ http_refused=[1-9]\d* http_records=[1-9]\d* http_bytes=[1-9]\d*/.test(
        ship.stderr(),
      );
    });
  });
});

describe('logship --http while the broker is away', () => {
  const suite = useRealCollector('doors-down');

  it('answers the OpenTelemetry SDK and the Elasticsearch client only once the records are in the spool, and delivers them later', async () => {
    const { proxy, url } = await startBrokerProxy();
    const port = await freePort();
    const spool = path.join(suite.dir, 'spool');
    const args = ['-v', '--amqp', url, '--exchange', suite.exchange, '--spool', spool];
    let ship = runBin('logship', [...args, '--http', `127.0.0.1:${port}`], { keepStdinOpen: true });
    try {
      await waitUntil('logship listens', () => ship.stderr().includes('listening on http'));
      await proxy.cut();
      // What the SDK's exporter was told, request by request.
      const inner = new OtlpProtoExporter({ url: `http://127.0.0.1:${port}/v1/logs` });
      const results: ExportResultCode[] = [];
      const exporter: LogRecordExporter = {
        export: (logs, done) =>
          inner.export(logs, (result) => {
            results.push(result.code);
            done(result);
          }),
        shutdown: () => inner.shutdown(),
        forceFlush: () => inner.forceFlush(),
      };
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': 'offline' }),
        processors: [new BatchLogRecordProcessor({ exporter })],
      });
      const logger = provider.getLogger('offline');
      for (let i = 0; i < 50; i++)
        logger.emit({ severityNumber: SeverityNumber.INFO, body: `while away ${i}` });
      await provider.forceFlush();
      expect(results).toEqual([ExportResultCode.SUCCESS]);
      // The Elasticsearch client's bulk helper, in the same outage.
      const es = new Client({ node: `http://127.0.0.1:${port}` });
      const bulk = await es.helpers.bulk({
        datasource: Array.from({ length: 20 }, (_, i) => ({
          message: `bulk while away ${i}`,
          'service.name': 'offline-es',
        })),
        onDocument: () => ({ index: { _index: 'away' } }),
      });
      expect(bulk).toMatchObject({ total: 20, successful: 20, failed: 0 });
      // And a Loki protobuf push (Promtail's and Alloy's form), 204 in the same outage.
      const now = BigInt(Date.now());
      const push = await fetch(`http://127.0.0.1:${port}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: snappy.compress(
          encodeMessage(LokiPushRequest, {
            streams: [
              {
                labels: '{service_name="offline-loki", level="warn"}',
                entries: Array.from({ length: 10 }, (_, i) => ({
                  timestamp: { seconds: String(now / 1000n), nanos: i * 1000 },
                  line: `pushed while away ${i}`,
                })),
              },
            ],
          }),
        ),
      });
      expect(push.status).toBe(204);
      // Told "safe": a crash now must not lose them.
      ship.child.kill('SIGKILL');
      await ship.exited;
      await provider.shutdown();
      await proxy.restore();
      ship = runBin('logship', args, { keepStdinOpen: true });
      const rows = await waitForRows(suite.api, 'offline.#', 50);
      expect(new Set(rows.map((r) => r.msg)).size).toBe(50);
      expect(rows.every((r) => r.facility === 'offline' && r.severity === 'info')).toBe(true);
      expect(new Set((await waitForRows(suite.api, 'offline-es.#', 20)).map((r) => r.msg)).size).toBe(20);
      const pushed = await waitForRows(suite.api, 'offline-loki.#', 10);
      expect(new Set(pushed.map((r) => r.msg)).size).toBe(10);
      expect(pushed.every((r) => r.severity === 'warning' && r.app === 'offline-loki')).toBe(true);
    } finally {
      await stopBin(ship);
      await proxy.close();
    }
  }, 60_000);
});

/** The records under a pattern, oldest first, once there are `count` of them (any time this past year). */
async function waitForRows(api: string, pattern: string, count: number): Promise<Row[]> {
  let rows: Row[] = [];
  await waitUntil(
    `${count} records under ${pattern}`,
    async () => {
      const url = `${api}/api/logs?since=400d&limit=500&order=asc&pattern=${encodeURIComponent(pattern)}`;
      rows = ((await (await fetch(url)).json()) as { records: Row[] }).records;
      return rows.length >= count;
    },
    30_000,
  );
  expect(rows).toHaveLength(count);
  return rows;
}
