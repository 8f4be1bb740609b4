import { timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { ErrorCodes, WarrenError, errorMessage, sleep } from '../../../protocol/index.js';
import type { ParsedRecord } from '../../record.js';
import type { Input, InputContext } from '../input.js';

/** Where the receiver listens: `HOST:PORT`, `:PORT` or `PORT` (loopback unless a host is given). */
export interface HttpAddress {
  host: string;
  port: number;
}

export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:]*):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid --http address '${text}'`, {
      hint: 'use HOST:PORT or PORT, e.g. --http 127.0.0.1:4318 (OTLP/HTTP), --http 0.0.0.0:3100',
    });
  }
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/** Who may send: a bearer token, a basic user and password, or both; none configured: anyone who can connect. */
export interface HttpAuth {
  readonly token?: string | undefined;
  readonly basic?: { readonly user: string; readonly password: string } | undefined;
  /** `--http-auth none`: open on purpose (no warning for a non-loopback address). */
  readonly open?: boolean | undefined;
}

/** The schemes `--http-auth` names: `none`, `bearer`, `basic` or `bearer,basic`. */
export type HttpAuthScheme = 'bearer' | 'basic';

/** `--http-auth` as written: `none`, or schemes separated by commas. */
export function parseHttpAuthFlag(text: string): readonly HttpAuthScheme[] {
  const words = text
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== '');
  if (words.length === 1 && words[0] === 'none') return [];
  const schemes = new Set<HttpAuthScheme>();
  for (const word of words) {
    if (word !== 'bearer' && word !== 'basic')
      throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid --http-auth '${text}'`, {
        hint: 'use bearer, basic, bearer,basic or none; the secrets come from WARREN_HTTP_TOKEN and WARREN_HTTP_BASIC',
      });
    schemes.add(word);
  }
  if (schemes.size === 0)
    throw new WarrenError(ErrorCodes.BAD_USAGE, 'empty --http-auth', {
      hint: 'use bearer, basic, bearer,basic or none',
    });
  return [...schemes];
}

/**
 * The receiver's auth: the secrets come from WARREN_HTTP_TOKEN and WARREN_HTTP_BASIC (`user:password`)
 * only, so they stay out of argv and `ps`. Without `--http-auth`, every secret set is required
 * (either one accepted); with it, the schemes it names, each of which must have its secret set
 * (a missing variable is a usage error, not an open receiver); `--http-auth none` with a secret
 * set is refused as a contradiction.
 */
export function resolveHttpAuth(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): HttpAuth {
  const token = env.WARREN_HTTP_TOKEN === '' ? undefined : env.WARREN_HTTP_TOKEN;
  const basic = env.WARREN_HTTP_BASIC;
  let parsed: HttpAuth['basic'];
  if (basic !== undefined && basic !== '') {
    const colon = basic.indexOf(':');
    if (colon <= 0) {
      throw new WarrenError(ErrorCodes.BAD_USAGE, 'WARREN_HTTP_BASIC must be user:password', {
        hint: 'e.g. WARREN_HTTP_BASIC=shipper:s3cret',
      });
    }
    parsed = { user: basic.slice(0, colon), password: basic.slice(colon + 1) };
  }
  if (flag === undefined) return { token, basic: parsed };
  const schemes = parseHttpAuthFlag(flag);
  if (schemes.length === 0) {
    if (token !== undefined || parsed !== undefined)
      throw new WarrenError(
        ErrorCodes.BAD_USAGE,
        `--http-auth none, but ${token !== undefined ? 'WARREN_HTTP_TOKEN' : 'WARREN_HTTP_BASIC'} is set`,
        { hint: 'unset the variable to run the receiver open, or name its scheme: --http-auth bearer' },
      );
    return { open: true };
  }
  if (schemes.includes('bearer') && token === undefined)
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--http-auth bearer needs WARREN_HTTP_TOKEN', {
      hint: 'export WARREN_HTTP_TOKEN=<token> (the secret is never a flag, so it stays out of ps)',
    });
  if (schemes.includes('basic') && parsed === undefined)
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--http-auth basic needs WARREN_HTTP_BASIC', {
      hint: 'export WARREN_HTTP_BASIC=<user>:<password> (the secret is never a flag, so it stays out of ps)',
    });
  return {
    token: schemes.includes('bearer') ? token : undefined,
    basic: schemes.includes('basic') ? parsed : undefined,
  };
}

/** Whether an address is loopback only (nothing else can reach a receiver bound there). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Whether the configured auth asks anything of a sender. */
export function authRequired(auth: HttpAuth): boolean {
  return auth.token !== undefined || auth.basic !== undefined;
}

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

/** What became of a request's records: every one safe, or none taken (and why, for the door's answer). */
export type Outcome =
  | { readonly kind: 'safe' }
  | {
      readonly kind: 'busy';
      readonly status: 429 | 503;
      readonly retryAfterS: number;
      readonly reason: string;
    };

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

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a request's Authorization header satisfies the configured auth. */
export function authorized(auth: HttpAuth, header: string | undefined): boolean {
  if (auth.token === undefined && auth.basic === undefined) return true;
  if (header === undefined) return false;
  const [scheme = '', value = ''] = header.split(/\s+/, 2);
  if (auth.token !== undefined && scheme.toLowerCase() === 'bearer') return safeEqual(value, auth.token);
  if (auth.basic !== undefined && scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return safeEqual(decoded, `${auth.basic.user}:${auth.basic.password}`);
  }
  return false;
}

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
      if (batch.length === 0) return { kind: 'safe' };
      // Back-pressure (the broker is up but behind) holds the request a while: TCP inputs pause the same way.
      const waitUntil = Date.now() + busyWaitMs;
      while (!sink.accepting && !sink.spoolFull && Date.now() < waitUntil) await sleep(20);
      if (sink.spoolFull)
        return {
          kind: 'busy',
          status: 503,
          retryAfterS: 5,
          reason: 'the spool is full: the broker is away and the disk buffer holds all it may',
        };
      if (!sink.accepting)
        return {
          kind: 'busy',
          status: 429,
          retryAfterS: 1,
          reason: 'logship is behind the broker: retry shortly',
        };
      for (const record of batch) sink.log(record);
      // Only the count outlives this point: the records are encoded, and may be collected now.
      const taken = batch.length;
      const end = sink.nextSeq;
      if (!(await sink.whenSafe(end, safeTimeoutMs))) {
        if (sink.spoolFull)
          return {
            kind: 'busy',
            status: 503,
            retryAfterS: 5,
            reason:
              'the spool filled up while taking these records: the broker is away and the disk buffer holds all it may (they are kept in memory and delivered when it is back, so a retry may store them twice)',
          };
        return {
          kind: 'busy',
          status: 503,
          retryAfterS: 5,
          reason: `the records were neither confirmed nor spooled within ${safeTimeoutMs / 1000} s (a retry may store them twice)`,
        };
      }
      records.inc({ door: doorName }, taken);
      totals.records += taken;
      return { kind: 'safe' };
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
