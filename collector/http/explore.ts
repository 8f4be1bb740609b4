import { ErrorCodes, parseDuration, WarrenError } from '../../protocol/index.js';
import type { TopBy } from '../store/query.js';
import { parseFilter, type RouteContext, type TypedApp } from './logs.js';
import { Context, ContextQuery, Top, TopQuery, Volume, VolumeQuery } from './schemas.js';

/** Buckets one volume answer may hold: a week by the minute. */
const MAX_BUCKETS = 10_080;
const HOUR_MS = 3_600_000;

/** Volume and top cover the last hour unless `since` says otherwise (CONTRACT §6). */
function lastHourUnlessSaid<Q extends { since?: string | undefined }>(query: Q): Q & { since: string } {
  return { ...query, since: query.since ?? '1h' };
}

/**
 * The operator's questions beside paging (issue 16): the log volume over time per severity (the
 * histogram of Grafana Explore), the most frequent values of a column or field, and the lines
 * around one record. Filters are /api/logs's: pattern, q, since, until, host.
 */
export function registerExploreRoutes(app: TypedApp, ctx: RouteContext): void {
  app.get(
    '/api/logs/volume',
    {
      schema: {
        summary: 'Records per time bucket and severity, every bucket from since to until',
        description:
          'Buckets start at multiples of step (UTC); empty buckets are listed with total 0. Without since, the last hour; without until, up to now. Example: /api/logs/volume?since=1h&step=1m&pattern=kern.%23',
        querystring: VolumeQuery,
        security: ctx.security,
        response: { 200: Volume, ...ctx.errors },
      },
    },
    async (req) => {
      const now = ctx.now();
      const filter = parseFilter(lastHourUnlessSaid(req.query), now);
      const stepMs = parseDuration(req.query.step);
      // lastHourUnlessSaid gave a since; the fallback only satisfies the type.
      const since = filter.since ?? now.getTime() - HOUR_MS;
      const until = filter.until ?? now.getTime();
      const first = Math.floor(since / stepMs) * stepMs;
      const count = Math.ceil((until - first) / stepMs);
      if (stepMs < 1000 || count > MAX_BUCKETS) {
        throw new WarrenError(
          ErrorCodes.BAD_REQUEST,
          stepMs < 1000
            ? `step ${req.query.step} is under a second`
            : `step ${req.query.step} makes ${count} buckets`,
          { hint: `at most ${MAX_BUCKETS} buckets of at least 1s: widen step or narrow since/until` },
        );
      }
      const rows = await ctx.store.volume({ ...filter, since, until }, stepMs);
      const buckets = Array.from(
        { length: count },
        (_, i): { ts: string; total: number; counts: Record<string, number> } => ({
          ts: new Date(first + i * stepMs).toISOString(),
          total: 0,
          counts: {},
        }),
      );
      for (const row of rows) {
        const bucket = buckets[Math.floor((row.bucket - first) / stepMs)];
        if (bucket === undefined) continue;
        bucket.total += row.count;
        bucket.counts[row.severity] = (bucket.counts[row.severity] ?? 0) + row.count;
      }
      return {
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        step_ms: stepMs,
        buckets,
      };
    },
  );

  app.get(
    '/api/logs/top',
    {
      schema: {
        summary: 'The most frequent values of a column or field among the records the filters select',
        description:
          'by: host, app, facility, severity, or a key path of fields (http.status; a leading fields. is allowed). Without since, the last hour. Example: /api/logs/top?by=host&limit=10&q=timeout',
        querystring: TopQuery,
        security: ctx.security,
        response: { 200: Top, ...ctx.errors },
      },
    },
    async (req) => {
      const now = ctx.now();
      const filter = parseFilter(lastHourUnlessSaid(req.query), now);
      const name = req.query.by;
      const by: TopBy =
        name === 'host' || name === 'app' || name === 'facility' || name === 'severity'
          ? { column: name }
          : { path: name.replace(/^fields\./, '').split('.') };
      if ('path' in by && by.path.some((key) => key === '')) {
        throw new WarrenError(ErrorCodes.BAD_REQUEST, `by=${name} is not a field path`, {
          hint: 'nested keys are joined by single dots: by=http.status',
        });
      }
      const top = await ctx.store.top(filter, by, req.query.limit);
      const listed = top.values.reduce((sum, v) => sum + v.count, 0);
      return {
        by: name,
        total: top.total,
        values: top.values,
        other_values: top.otherValues,
        other_count: top.otherCount,
        missing: top.total - listed - top.otherCount,
      };
    },
  );

  app.get(
    '/api/logs/context',
    {
      schema: {
        summary: 'The records around one record, in time order, the record itself marked',
        description:
          'Neighbours in (ts, position) order from the same host and app (scope=stream, default), the same host (scope=host) or all records. Example: /api/logs/context?id=web-01:0k2f9x1q7m3ab:1207&before=20&after=20',
        querystring: ContextQuery,
        security: ctx.security,
        response: { 200: Context, ...ctx.errors },
      },
    },
    async (req) => {
      const found = await ctx.store.context(req.query.id, req.query.before, req.query.after, req.query.scope);
      if (found === null) {
        throw new WarrenError(ErrorCodes.NOT_FOUND, `no stored record has id '${req.query.id}'`, {
          hint: 'take the id from a record the API returned (records without an id have no context link)',
        });
      }
      return {
        records: [...found.before, found.record, ...found.after].map((r) => r.record),
        target: found.before.length,
      };
    },
  );
}
