import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ChannelModel, Options } from 'amqplib';
import { parsePatterns, topologyNames, type Severity, type StoredRecord } from '../../protocol/index.js';
import type { TailConfig } from '../../dashboard/tail.js';
import type { ConnectionStatus, TailSink } from '../../dashboard/output/sink.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let sequence = 0;

/** A resolved record as the API serves it; `over` replaces any field. */
export function record(over: Partial<StoredRecord> & { severity?: Severity } = {}): StoredRecord {
  const severity = over.severity ?? 'info';
  const facility = over.facility ?? 'app';
  sequence++;
  return {
    id: `test:${sequence}`,
    ts: '2026-11-21T22:33:54.123Z',
    facility,
    severity,
    msg: `message ${sequence}`,
    routing_key: `${facility}.${severity}`,
    ...over,
  };
}

export function uniqueExchange(area = 'dashboard'): string {
  return `test-${area}-${randomBytes(4).toString('hex')}`;
}

/** Publishes like an agent: NDJSON batches (or one JSON record) with confirms. */
export async function publish(
  connection: ChannelModel,
  exchange: string,
  routingKey: string,
  body: string | Buffer,
  contentType?: string,
  messageId?: string,
): Promise<void> {
  const channel = await connection.createConfirmChannel();
  try {
    const options: Options.Publish = { persistent: false, timestamp: Date.now() };
    if (contentType !== undefined) options.contentType = contentType;
    if (messageId !== undefined) options.messageId = messageId;
    channel.publish(exchange, routingKey, typeof body === 'string' ? Buffer.from(body) : body, options);
    await channel.waitForConfirms();
  } finally {
    await channel.close();
  }
}

/** Publishes one record as an `application/json` message, as a foreign publisher would. */
export function publishRecord(
  connection: ChannelModel,
  exchange: string,
  routingKey: string,
  record: object,
): Promise<void> {
  return publish(connection, exchange, routingKey, JSON.stringify(record), 'application/json');
}

export function ndjson(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Deletes what logtail declares for an exchange (its own queues are exclusive and go by themselves). */
export async function deleteTopology(connection: ChannelModel, exchange: string): Promise<void> {
  const names = topologyNames(exchange);
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.deleteExchange(names.exchange);
    await channel.deleteExchange(names.unrouted);
    await channel.deleteExchange(names.dead);
    await channel.deleteQueue(names.unrouted);
    await channel.deleteQueue(names.dead);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

export interface FakeApi {
  url: string;
  requests: URL[];
  close(): Promise<void>;
}

/** A JSON answer, or (for `/api/logs/stream`) Server-Sent Events text, kept open until the client goes. */
export type FakeAnswer = { status?: number; body: unknown } | { events: string };

/**
 * A tiny stand-in for `GET /api/logs` (CONTRACT §6 shape: {records, next, stream_cursor}) and its stream;
 * `handler` answers one request (it may wait, to hold a backfill open while a test publishes).
 */
export async function fakeApi(
  handler: (url: URL, req: http.IncomingMessage) => Promise<FakeAnswer>,
): Promise<FakeApi> {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url);
    handler(url, req).then(
      (answer) => {
        if ('events' in answer) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(answer.events);
          return;
        }
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'TEST', message: String(err) } }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls until `check` holds (or fails with `what` after `ms`). */
export async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Force-closes the broker connection(s) named `name` (what an operator or a network blip does). */
export async function closeNamedConnection(name: string): Promise<number> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0] ?? '')
    .filter((pid) => pid !== '');
  for (const pid of pids)
    await run('rabbitmqctl', ['-q', 'close_connection', pid, 'test: logtail reconnect']);
  return pids.length;
}

/** A local port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TailSink that keeps everything it is given, for assertions. */
export interface Collected extends TailSink {
  got: StoredRecord[];
  statuses: ConnectionStatus[];
  notices: string[];
  droppedBroker: number;
  droppedSeam: number;
}

/** `gate` lets a test hold the tail's output (its back-pressure) until it resolves. */
export function collector(gate?: () => Promise<void> | undefined): Collected {
  const sink: Collected = {
    got: [],
    statuses: [],
    notices: [],
    droppedBroker: 0,
    droppedSeam: 0,
    records(records) {
      sink.got.push(...records);
      return gate?.();
    },
    status(status) {
      sink.statuses.push(status);
    },
    dropped(count, where) {
      if (where === 'broker') sink.droppedBroker += count;
      else sink.droppedSeam += count;
    },
    notice(text) {
      sink.notices.push(text);
    },
  };
  return sink;
}

/** A live tail of `#` on `exchange` with the CLI's defaults; `over` replaces any field. */
export function config(exchange: string, over: Partial<TailConfig> = {}): TailConfig {
  return {
    amqpUrl: AMQP_URL,
    exchange,
    apiUrl: 'http://127.0.0.1:9',
    token: undefined,
    patterns: parsePatterns(['#']),
    since: undefined,
    follow: true,
    query: undefined,
    host: undefined,
    backfillOnReconnect: false,
    maxLength: 10_000,
    maxLengthBytes: 16 * 1024 * 1024,
    prefetch: 100,
    connectionName: `logtail-test-${randomBytes(4).toString('hex')}`,
    ...over,
  };
}
