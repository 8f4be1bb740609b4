import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyInstance,
  FastifyBaseLogger,
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
} from 'fastify';
import { ErrorCodes, parsePatterns, WarrenError } from '../../protocol/index.js';
import { textFilter, type QueryStore, type RecordFilter } from '../store/query.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { parseWindow } from './window.js';
import { LogsPage, LogsQuery, StreamQuery } from './schemas.js';
import type { StreamHub } from './stream.js';

export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteContext {
  store: QueryStore;
  now: () => Date;
  errors: Record<number, unknown>;
  security: Record<string, string[]>[];
}

interface FilterInput {
  pattern?: string[] | undefined;
  q?: string | undefined;
  syntax?: 'query' | 'words' | 'fts' | undefined;
  since?: string | undefined;
  until?: string | undefined;
  host?: string | undefined;
}

/** The query string's filters → the store's filter; every user mistake is a WarrenError (400). */
export function parseFilter(input: FilterInput, now: Date): RecordFilter {
  // `pattern=*.error+` sent unencoded arrives as '*.error ': say so rather than narrow silently.
  const spaced = input.pattern?.find((p) => /\s$/.test(p));
  if (spaced !== undefined) {
    throw new WarrenError(ErrorCodes.BAD_PATTERN, `pattern '${spaced}' ends with a space`, {
      hint: "a + in a URL query means a space: send a severity range as %2B (pattern=*.error%2B), or let curl encode it (curl -G --data-urlencode 'pattern=*.error+')",
    });
  }
  const patterns = parsePatterns(input.pattern ?? []);
  const filter: RecordFilter = { patterns, host: input.host };
  if (input.q !== undefined) filter.text = textFilter(input.q, input.syntax);
  const window = parseWindow(input.since, input.until, now);
  filter.since = window.since;
  filter.until = window.until;
  return filter;
}

export function registerLogRoutes(app: TypedApp, ctx: RouteContext & { hub: StreamHub }): void {
  app.get(
    '/api/logs',
    {
      schema: {
        summary: 'Stored records matching every filter, newest first, paged with an opaque cursor',
        description:
          'Filters combine with AND; several pattern values are OR-ed. Paging is keyset on (ts, seq) over the snapshot of the first page, so pages neither skip nor repeat while records keep arriving.',
        querystring: LogsQuery,
        security: ctx.security,
        response: { 200: LogsPage, ...ctx.errors },
      },
    },
    async (req) => {
      const query = req.query;
      const filter = parseFilter(query, ctx.now());
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.order);
      const page = await ctx.store.page({
        ...filter,
        order: query.order,
        limit: query.limit,
        after: cursor?.after,
        head: cursor?.head,
      });
      const last = page.records[page.records.length - 1];
      return {
        records: page.records.map((r) => r.record),
        next:
          page.more && last !== undefined
            ? encodeCursor({ order: query.order, after: { ts: last.ts, seq: last.seq }, head: page.head })
            : null,
        stream_cursor: String(page.head),
      };
    },
  );

  app.get(
    '/api/logs/stream',
    {
      schema: {
        summary: 'Newly stored records matching the filters, as Server-Sent Events',
        description:
          'Each record is one event: `id` is its position (resume with Last-Event-ID or ?cursor=, no gap, no duplicate), `data` the record as JSON. A comment line every 15 s keeps the connection alive. A client too slow to keep up gets `event: dropped` with {count, from, to} and continues from the newest records. A resume position past the newest stored record (another or a rebuilt store) gets `event: reset` with {requested, head} and starts at the newest.',
        querystring: StreamQuery,
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', pattern: '^[0-9]{1,16}$' } },
        },
        security: ctx.security,
        produces: ['text/event-stream'],
        response: { 200: { type: 'string', description: 'text/event-stream' }, ...ctx.errors },
      },
    },
    async (req, reply) => {
      const filter = parseFilter(req.query, ctx.now());
      if (ctx.hub.full) {
        throw new WarrenError(
          ErrorCodes.TOO_MANY_STREAMS,
          'too many live streams are open on this collector',
          {
            hint: 'close another stream or retry later',
          },
        );
      }
      const lastEventId = req.headers['last-event-id'];
      const resume = typeof lastEventId === 'string' ? lastEventId : req.query.cursor;
      const head = await ctx.store.head();
      const wanted = resume === undefined ? head : Number(resume);
      reply.hijack();
      // A position past the newest record is from another (or a rebuilt) store: start at the newest
      // record and say so, rather than silently skipping everything until seq catches up.
      ctx.hub.open(
        reply.raw,
        filter,
        Math.min(wanted, head),
        wanted > head ? { requested: wanted, head } : undefined,
      );
    },
  );
}
