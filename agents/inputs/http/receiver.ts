import { promisify } from 'node:util';
import zlib from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { ErrorCodes, WarrenError, errorMessage } from '../../../protocol/index.js';
import type { ParsedRecord } from '../../record.js';
import type { Input, InputContext } from '../input.js';
import { shipWhole, type Outcome } from './ack.js';
import type { HttpAddress } from './address.js';
import { authRequired, authorized, isLoopbackHost, type HttpAuth } from './auth.js';

export { parseHttpAddress, type HttpAddress } from './address.js';

export interface HttpInputOptions {
  address: HttpAddress;
  auth: HttpAuth;
  /** A request body (compressed or not, and once decompressed) over this is refused with 413. */
  maxBodyBytes: number;
  /** How long a request waits for its records to be confirmed or spooled before 503. */
  safeTimeoutMs?: number;
  /** How long a request waits for back-pressure to ease before 429. */
  busyWaitMs?: number;
}

/** A request the door refuses: the status and the reason said to the sender. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a door gets from the receiver: its decoded body, the one way records go in, and its counters. */
export interface DoorContext {
  readonly logger: InputContext['logger'];
  readonly maxLineBytes: number;
  /** The cap on a body, also once decompressed. */
  readonly maxBodyBytes: number;
  /** The body as bytes, decompressed (gzip, deflate); a RequestError when it cannot be. */
  body(request: FastifyRequest): Promise<Buffer>;
  /** Hands a whole request's records to the shipper and waits until they are safe. */
  receive(door: string, records: readonly ParsedRecord[]): Promise<Outcome>;
  /** Counts an answered request (the door's name and the status sent). */
  answered(door: string, status: number): void;
}

/** A protocol on the receiver's port (OTLP, Loki push, Elasticsearch bulk). */
export interface Door {
  readonly name: string;
  register(app: FastifyInstance, context: DoorContext): void;
}

/** The door a URL belongs to, for the counters of requests no door answered itself (401, 413). */
export function doorOf(url: string): string {
  const pathname = url.split('?')[0] ?? '';
  if (pathname === '/v1/logs') return 'otlp';
  if (pathname.startsWith('/loki/')) return 'loki';
  if (pathname === '/metrics') return 'metrics';
  return 'elasticsearch';
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/**
 * The HTTP receiver of `logship --http`: one fastify server, several doors. A request's records are
 * all mapped before any is shipped (a refused request leaves nothing half-published), then logged
 * together, and the answer waits until every one is confirmed by the broker or fsync'd in the spool.
 */
export function createHttpInput(
  context: InputContext,
  options: HttpInputOptions,
  doors: readonly Door[],
): Input {
  const { sink, logger } = context;
  const name = `http ${options.address.host}:${options.address.port}`;
  const safeTimeoutMs = options.safeTimeoutMs ?? 30_000;
  const busyWaitMs = options.busyWaitMs ?? 5_000;
  const registry = new Registry();
  const requests = new Counter({
    name: 'warren_http_requests_total',
    help: 'Requests answered by the HTTP receiver, by door and status',
    labelNames: ['door', 'status'] as const,
    registers: [registry],
  });
  const records = new Counter({
    name: 'warren_http_records_total',
    help: 'Records taken by the HTTP receiver and made safe (confirmed or spooled), by door',
    labelNames: ['door'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'warren_http_request_bytes_total',
    help: 'Request body bytes read by the HTTP receiver (as sent, before decompression), by door',
    labelNames: ['door'] as const,
    registers: [registry],
  });
  // The same figures for logship's stats line (--verbose, SIGUSR1).
  const totals = { requests: 0, refused: 0, records: 0, bytes: 0 };
  const count = (doorName: string, status: number): void => {
    requests.inc({ door: doorName, status: String(status) });
    totals.requests++;
    if (status >= 300) totals.refused++;
  };

  const app = Fastify({ logger: false, bodyLimit: options.maxBodyBytes });
  // Every door reads its body as bytes: the content type and encoding are its to judge.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (request, reply) => {
    // Shippers and SDKs send no Origin; a browser does on every cross-origin POST, and an ES
    // "no-cors" text/plain POST from any web page would otherwise write records through a loopback receiver.
    if (request.headers.origin !== undefined) {
      count(doorOf(request.url), 403);
      await reply
        .code(403)
        .type('text/plain; charset=utf-8')
        .send(
          `logship's HTTP receiver does not take requests from web pages (Origin: ${request.headers.origin}): send from a shipper or an SDK on a server`,
        );
      return;
    }
    if (authorized(options.auth, request.headers.authorization)) return;
    count(doorOf(request.url), 401);
    await reply
      .code(401)
      .header('www-authenticate', options.auth.token !== undefined ? 'Bearer' : 'Basic realm="warren"')
      .send({
        error: 'authentication required: send the bearer token or the basic credentials logship was given',
      });
  });
  app.get('/metrics', async (_request, reply) => {
    await reply.type(registry.contentType).send(await registry.metrics());
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number }, request, reply: FastifyReply) => {
    const status = err.statusCode ?? 500;
    // A body over the cap (413) or a broken upload never reaches a door: counted here.
    count(doorOf(request.url), status);
    if (status >= 500) logger.warn({ err: errorMessage(err) }, `${name}: request failed`);
    const message =
      status === 413
        ? `request body over ${options.maxBodyBytes} bytes (logship --http-max-body)`
        : err.message;
    await reply.code(status).type('text/plain; charset=utf-8').send(message);
  });

  const door: DoorContext = {
    logger,
    maxLineBytes: context.text.maxLineBytes,
    maxBodyBytes: options.maxBodyBytes,
    async body(request) {
      const raw = request.body;
      const buffer = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
      bytes.inc({ door: doorOf(request.url) }, buffer.length);
      totals.bytes += buffer.length;
      const encoding = String(request.headers['content-encoding'] ?? 'identity')
        .toLowerCase()
        .trim();
      try {
        if (encoding === 'gzip' || encoding === 'x-gzip')
          return await gunzip(buffer, { maxOutputLength: options.maxBodyBytes });
        if (encoding === 'deflate') return await inflate(buffer, { maxOutputLength: options.maxBodyBytes });
      } catch (err) {
        if (err instanceof RangeError)
          throw new RequestError(
            413,
            `decompressed body over ${options.maxBodyBytes} bytes (logship --http-max-body)`,
          );
        throw new RequestError(400, `cannot decompress the ${encoding} body: ${errorMessage(err)}`);
      }
      if (encoding !== 'identity' && encoding !== '')
        throw new RequestError(
          415,
          `content-encoding '${encoding}' is not supported: send gzip, deflate or none`,
        );
      return buffer;
    },
    async receive(doorName, batch) {
      const taken = batch.length;
      const outcome = await shipWhole(sink, batch, { busyWaitMs, safeTimeoutMs });
      if (outcome.kind === 'safe' && taken > 0) {
        records.inc({ door: doorName }, taken);
        totals.records += taken;
      }
      return outcome;
    },
    answered: count,
  };
  for (const d of doors) d.register(app, door);

  return {
    name,
    // A listener never ends by itself.
    ended: new Promise<void>(() => undefined),
    async start() {
      try {
        await app.listen({ host: options.address.host, port: options.address.port });
      } catch (err) {
        throw new WarrenError(ErrorCodes.BAD_USAGE, `cannot listen on ${name}: ${errorMessage(err)}`, {
          hint: 'pick a free port with --http HOST:PORT (OTLP/HTTP usually 4318, Loki 3100, Elasticsearch 9200)',
          cause: err,
        });
      }
      logger.info(`listening on ${name} (${doors.map((d) => d.name).join(', ')})`);
      if (!isLoopbackHost(options.address.host) && !authRequired(options.auth) && options.auth.open !== true)
        logger.warn(
          `${name} takes records from anyone who can reach it: set WARREN_HTTP_TOKEN (or WARREN_HTTP_BASIC), or say --http-auth none if that is meant`,
        );
    },
    async stop() {
      // Requests in flight finish (their records are logged before close returns).
      await app.close();
    },
    stats: () => ({
      http_requests: totals.requests,
      http_refused: totals.refused,
      http_records: totals.records,
      http_bytes: totals.bytes,
    }),
  };
}
