import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelModel, Options } from 'amqplib';
import { parsePatterns, type Severity, type StoredRecord } from '../../protocol/index.js';
import type { TailConfig } from '../../dashboard/tail.js';
import { AMQP_URL, publish as publishAll, uniqueName } from '../../testkit/broker.js';
import type { ConnectionStatus, TailSink } from '../../dashboard/output/sink.js';

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

/** Publishes one message like an agent (not persistent, stamped now), with confirms. */
export async function publishMessage(
  connection: ChannelModel,
  exchange: string,
  routingKey: string,
  body: string | Buffer,
  contentType?: string,
  messageId?: string,
): Promise<void> {
  const options: Options.Publish = { persistent: false, timestamp: Date.now() };
  if (contentType !== undefined) options.contentType = contentType;
  if (messageId !== undefined) options.messageId = messageId;
  await publishAll(connection, exchange, [{ key: routingKey, body, options }]);
}

/** Publishes one record as an `application/json` message, as a foreign publisher would. */
export function publishRecord(
  connection: ChannelModel,
  exchange: string,
  routingKey: string,
  record: object,
): Promise<void> {
  return publishMessage(connection, exchange, routingKey, JSON.stringify(record), 'application/json');
}

export function ndjson(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
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
    connectionName: uniqueName('logtail-test'),
    ...over,
  };
}
