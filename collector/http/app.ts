import { createHash, timingSafeEqual } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ErrorCodes, httpStatusOf, isWarrenError, type ErrorCode } from '../../protocol/index.js';
import type { CollectorStatus } from '../status.js';
import type { QueryStore } from '../store/query.js';
import { openReadPool } from '../store/read-pool.js';
import { hostAllowed } from './hosts.js';
import { registerExploreRoutes } from './explore.js';
import { registerExportRoute } from './export.js';
import { registerLogRoutes } from './logs.js';
import { ErrorBody, Health, LogRecord, Ready } from './schemas.js';
import { registerStatsRoute } from './stats.js';
import { DEFAULT_STREAM_OPTIONS, StreamHub, type StreamOptions } from './stream.js';

export interface ApiDeps {
  /** The store; the API opens its OWN read-only connections (WAL allows concurrent readers). */
  dbPath: string;
  /** A PostgreSQL store's URL (`--store`): read there instead of the SQLite file. */
  storeUrl?: string | null | undefined;
  /**
   * Where reads run (read-pool.ts): reader processes for pages and counts (plus one for the live
   * streams), each read stopped at `timeoutMs`; 0 workers reads on this thread (the default here,
   * for tests; the collector passes its --query-workers).
   */
  reads?: { workers: number; timeoutMs: number; maxWaiting: number } | undefined;
  /** The collector emits 'stored' with { lastSeq: number } after every committed batch. */
  events: EventEmitter;
  status: () => CollectorStatus;
  /** The collector's metrics; served at /metrics, with the API's own added. */
  registry: Registry;
  /** More exposition text appended to /metrics (the ingest thread's, when the API runs in its own thread). */
  moreMetrics?: (() => Promise<string>) | undefined;
  logger: Logger;
  /** WARREN_TOKEN: when set, /api and /metrics require `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** The Host names answered (see hosts.ts); null or unset answers every name. */
  allowedHosts?: readonly string[] | null | undefined;
  /** Live stream tuning (tests shorten the heartbeat). */
  stream?: Partial<StreamOptions> | undefined;
  /** The clock relative times (`since=15m`) are measured from. */
  now?: (() => Date) | undefined;
}

export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ErrorAnswer {
  code: ErrorCode;
  message: string;
  hint?: string | undefined;
  /** Only where fastify already chose a 4xx (e.g. 413, 415); otherwise the catalogue's status for the code. */
  status?: number;
}

/** Answers with the error body of CONTRACT §6, at the HTTP status protocol/errors.ts gives the code. */
export function sendError(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  const { code, message, hint } = answer;
  return reply
    .code(answer.status ?? httpStatusOf(code))
    .send({ error: hint === undefined ? { code, message } : { code, message, hint } });
}

/**
 * Decided on the route the router matched (it decodes `%61pi` to `api`), falling back to the
 * decoded path for unmatched URLs, so no spelling of a path reaches /api without the token.
 */
function needsToken(req: FastifyRequest): boolean {
  let path = req.routeOptions.url;
  if (path === undefined) {
    const raw = req.url.split('?')[0] ?? '';
    try {
      path = decodeURIComponent(raw);
    } catch {
      path = raw;
    }
  }
  path = path.toLowerCase().replace(/\/+/g, '/');
  return path === '/metrics' || path.startsWith('/metrics/') || path === '/api' || path.startsWith('/api/');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Builds the HTTP API (not listening: the collector calls listen()). Routes are schema-first, so
 * validation, the OpenAPI document at /docs and response serialisation come from one definition.
 */
export async function buildApi(deps: ApiDeps): Promise<Api> {
  const streamOptions: StreamOptions = Object.freeze({
    ...DEFAULT_STREAM_OPTIONS,
    ...Object.fromEntries(Object.entries(deps.stream ?? {}).filter(([, v]) => v !== undefined)),
  });
  const now = deps.now ?? (() => new Date());
  const reads = deps.reads ?? { workers: 0, timeoutMs: 0, maxWaiting: 0 };
  const logger = deps.logger.child({ component: 'reads' });
  const storeUrl = deps.storeUrl ?? null;
  // PostgreSQL's modules (and pg) load only when the store is there.
  const postgres =
    storeUrl === null
      ? null
      : {
          url: storeUrl,
          ...(await import('../store/postgres/pg-query-store.js')),
          ...(await import('../store/postgres/notices.js')),
        };
  const store: QueryStore =
    postgres === null
      ? openReadPool({ dbPath: deps.dbPath, ...reads, logger })
      : await postgres.openPgQueryStore(
          postgres.url,
          // The readers' work runs in PostgreSQL: a connection per reader, one more for the streams.
          {
            connections: Math.max(2, reads.workers + 1),
            timeoutMs: reads.timeoutMs > 0 ? reads.timeoutMs : 30_000,
          },
          logger,
        );
  // Other collectors' commits wake the live streams too.
  const notices = postgres === null ? null : postgres.listenForStored(postgres.url, deps.events, logger);
  try {
    const app = await assemble(deps, store, streamOptions, now);
    if (notices !== null) app.addHook('onClose', () => notices.close());
    return app;
  } catch (err) {
    await notices?.close();
    await store.close();
    throw err;
  }
}

async function assemble(
  deps: ApiDeps,
  store: QueryStore,
  streamOptions: StreamOptions,
  now: () => Date,
): Promise<Api> {
  const metrics = apiMetrics(deps.registry);

  const httpLogger: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    // Headers (and so the bearer token) are never logged: only method, url and address.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const hub = new StreamHub(store, streamOptions, deps.logger.child({ component: 'stream' }), {
    sent: (n) => metrics.streamed.inc(n),
    dropped: (n) => metrics.dropped.inc(n),
  });
  const onStored = (): void => hub.notify();
  app.addHook('preClose', (done) => {
    deps.events.off('stored', onStored);
    hub.close();
    done();
  });
  app.addHook('onClose', async () => {
    await store.close();
  });

  app.addSchema(ErrorBody);
  app.addSchema(LogRecord);

  const hosts = deps.allowedHosts ?? null;
  app.addHook('onRequest', (req, reply, done) => {
    if (hostAllowed(req.headers.host, hosts)) return done();
    void sendError(reply, {
      code: ErrorCodes.BAD_HOST,
      message: `this collector does not answer to the host name '${req.headers.host ?? ''}'`,
      hint: `it answers ${hosts?.join(', ') ?? 'any name'}; start logcollect with --allow-host NAME (or WARREN_ALLOW_HOSTS) to add one`,
    });
  });

  const tokenDigest = deps.token === undefined || deps.token === '' ? undefined : digest(deps.token);
  app.addHook('onRequest', (req, reply, done) => {
    if (tokenDigest === undefined || !needsToken(req)) return done();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Equal-length digests make the comparison constant-time whatever the caller sends.
    if (match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), tokenDigest)) return done();
    void reply.header('www-authenticate', 'Bearer realm="warren"');
    void sendError(reply, {
      code: ErrorCodes.UNAUTHORIZED,
      message:
        header === ''
          ? 'this API needs a bearer token'
          : 'the bearer token is not the one this collector expects',
      hint: "send Authorization: Bearer <token> with the collector's WARREN_TOKEN",
    });
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (isWarrenError(err)) {
      // Busy is a moment's state, not a fault: clients that honour Retry-After come back.
      if (err.code === ErrorCodes.QUERY_BUSY) reply.header('retry-after', '1');
      else if (err.httpStatus >= 500) req.log.error({ err }, 'request failed');
      return sendError(reply, { code: err.code, message: err.message, hint: err.hint });
    }
    if (err.validation !== undefined) {
      // Name the parameter a user got wrong, not ajv's "query  must NOT have additional properties".
      const first = err.validation[0];
      const unknown = first?.keyword === 'additionalProperties' ? first.params.additionalProperty : undefined;
      if (typeof unknown === 'string') {
        return sendError(reply, {
          code: ErrorCodes.BAD_REQUEST,
          message: `unknown query parameter '${unknown}'`,
          hint: `${req.routeOptions.url ?? 'this route'} takes the parameters listed in /docs`,
        });
      }
      return sendError(reply, {
        code: ErrorCodes.BAD_REQUEST,
        message: err.message.replace(/^querystring\/?/, 'query '),
      });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, { code: ErrorCodes.BAD_REQUEST, message: err.message, status: err.statusCode });
    }
    req.log.error({ err }, 'request failed');
    return sendError(reply, {
      code: ErrorCodes.INTERNAL,
      message: 'internal error; the collector log has the details',
    });
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, {
      code: ErrorCodes.NOT_FOUND,
      message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`,
      hint: 'see /docs',
    }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Warren log API',
        version: '1',
        description:
          'Query, stream and operate the Warren collector. With WARREN_TOKEN set, /api/* and /metrics need `Authorization: Bearer <token>`; /healthz, /readyz and /docs stay open.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const errors = {
    400: { $ref: 'Error#' },
    401: { $ref: 'Error#' },
    500: { $ref: 'Error#' },
    503: { $ref: 'Error#' },
  };
  const security = tokenDigest === undefined ? [] : [{ bearer: [] }];

  app.get(
    '/healthz',
    { schema: { summary: 'The process is alive (never needs a token)', response: { 200: Health } } },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready: consuming from the broker and able to write the store (503 otherwise)',
        response: { 200: Ready, 503: Ready },
      },
    },
    (_req, reply) => {
      const status = deps.status();
      const problems: string[] = [];
      if (!status.brokerConnected) problems.push('not connected to the broker');
      if (!status.storeWritable) problems.push('the store is not writable');
      const body = {
        ready: problems.length === 0,
        broker_connected: status.brokerConnected,
        store_writable: status.storeWritable,
        problems,
      };
      void reply.code(body.ready ? 200 : 503);
      return body;
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        security,
        produces: ['text/plain'],
        response: { 200: { type: 'string' }, 401: { $ref: 'Error#' } },
      },
    },
    async (_req, reply) => {
      metrics.streams.set(hub.size);
      const text = await deps.registry.metrics();
      const more = deps.moreMetrics === undefined ? '' : await deps.moreMetrics();
      return reply.header('content-type', deps.registry.contentType).send(more + text);
    },
  );

  registerLogRoutes(app, { store, hub, now, errors, security });
  registerExploreRoutes(app, { store, now, errors, security });
  registerExportRoute(app, { store, now, errors, security });
  registerStatsRoute(app, { store, status: deps.status, now, errors, security });

  // Last, so a failure above leaves no listener behind on the collector's emitter.
  deps.events.on('stored', onStored);
  return app;
}

interface ApiMetrics {
  requests: Counter;
  duration: Histogram;
  streams: Gauge;
  streamed: Counter;
  dropped: Counter;
}

/** The API's metrics on the collector's registry; reused when an API is built twice on one registry. */
function apiMetrics(registry: Registry): ApiMetrics {
  const reuse = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    requests: reuse(
      'warren_http_requests_total',
      () =>
        new Counter({
          name: 'warren_http_requests_total',
          help: 'HTTP requests answered, by route, method and status',
          labelNames: ['route', 'method', 'status'],
          registers: [registry],
        }),
    ),
    duration: reuse(
      'warren_http_request_duration_seconds',
      () =>
        new Histogram({
          name: 'warren_http_request_duration_seconds',
          help: 'Time to answer an HTTP request, by route',
          labelNames: ['route'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers: [registry],
        }),
    ),
    streams: reuse(
      'warren_http_streams',
      () => new Gauge({ name: 'warren_http_streams', help: 'Open live streams', registers: [registry] }),
    ),
    streamed: reuse(
      'warren_http_streamed_records_total',
      () =>
        new Counter({
          name: 'warren_http_streamed_records_total',
          help: 'Records sent on live streams',
          registers: [registry],
        }),
    ),
    dropped: reuse(
      'warren_http_stream_skipped_records_total',
      () =>
        new Counter({
          name: 'warren_http_stream_skipped_records_total',
          help: 'Records too-slow stream clients skipped (each told with an event: dropped)',
          registers: [registry],
        }),
    ),
  };
}
