import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Position } from '../store/query.js';
import { parseFilter, type RouteContext, type TypedApp } from './logs.js';
import { ExportQuery } from './schemas.js';

/** Records read per store read while exporting: one page at a time, written before the next is read. */
const EXPORT_PAGE = 2_000;

/**
 * Every record the filters select as NDJSON, oldest first, with no limit (issue 16). One page is
 * written while the next is read, and the one after is read only once the socket has taken the
 * first, so a slow client holds the export, never the collector's memory (two pages at most); every page reads the snapshot of the first (seq ≤ head),
 * as paging does.
 */
export function registerExportRoute(app: TypedApp, ctx: RouteContext): void {
  app.get(
    '/api/logs/export',
    {
      schema: {
        summary: 'Every matching record as NDJSON (application/x-ndjson), oldest first, streamed',
        description:
          'The filters of /api/logs, no limit. Records stored after the export began are not included (the snapshot of its first read). Example: curl -N "/api/logs/export?since=1d&q=timeout" > timeouts.ndjson',
        querystring: ExportQuery,
        security: ctx.security,
        produces: ['application/x-ndjson'],
        response: { 200: { type: 'string', description: 'one record (LogRecord) per line' }, ...ctx.errors },
      },
    },
    async (req, reply) => {
      const filter = parseFilter(req.query, ctx.now());
      // The first page is read before anything is sent: a bad query is still a 400 with a body.
      let page = await ctx.store.page({ ...filter, order: 'asc', limit: EXPORT_PAGE });
      const head = page.head;
      reply.hijack();
      const res: ServerResponse = reply.raw;
      res.writeHead(200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
      });
      let closed = false;
      res.on('close', () => (closed = true));
      try {
        for (;;) {
          const last = page.records.at(-1);
          // The next page is read while this one is written: two pages at most are held.
          const next =
            page.more && last !== undefined
              ? ctx.store.page({
                  ...filter,
                  order: 'asc',
                  limit: EXPORT_PAGE,
                  after: { ts: last.ts, seq: last.seq } satisfies Position,
                  head,
                })
              : undefined;
          // A failed read ahead is reported where it is awaited, not as an unhandled rejection.
          void next?.catch(() => undefined);
          let chunk = '';
          for (const { record } of page.records) chunk += `${JSON.stringify(record)}\n`;
          if (chunk !== '' && !res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
          if (closed || next === undefined) break;
          page = await next;
        }
        res.end();
      } catch (err) {
        // Headers are gone: the client sees a cut stream, the log says why.
        req.log.error({ err }, 'export failed midway');
        res.destroy();
      }
    },
  );
}
