import { ErrorCodes, parseTimeOrDuration, WarrenError } from '../../protocol/index.js';
import type { CollectorStatus } from '../status.js';
import type { RouteContext, TypedApp } from './logs.js';
import { Stats, StatsQuery } from './schemas.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function registerStatsRoute(
  app: TypedApp,
  ctx: RouteContext & { status: () => CollectorStatus },
): void {
  app.get(
    '/api/stats',
    {
      schema: {
        summary: 'Counts per facility and severity over a window, ingest rate, queue depths, store size',
        querystring: StatsQuery,
        security: ctx.security,
        response: { 200: Stats, ...ctx.errors },
      },
    },
    (req) => {
      const now = ctx.now();
      const since = parseTimeOrDuration(req.query.since ?? '1h', now).getTime();
      const until =
        req.query.until === undefined ? now.getTime() : parseTimeOrDuration(req.query.until, now).getTime();
      if (since >= until) {
        throw new WarrenError(ErrorCodes.BAD_REQUEST, 'since is not before until', {
          hint: 'since is the start of the window and until its end',
        });
      }
      const counts: Record<string, Record<string, number>> = {};
      const bySeverity: Record<string, number> = {};
      const byFacility: Record<string, number> = {};
      let total = 0;
      for (const { facility, severity, count } of ctx.store.countsByKey(since, until)) {
        const row = (counts[facility] ??= {});
        row[severity] = (row[severity] ?? 0) + count;
        bySeverity[severity] = (bySeverity[severity] ?? 0) + count;
        byFacility[facility] = (byFacility[facility] ?? 0) + count;
        total += count;
      }
      const status = ctx.status();
      const facts = ctx.store.facts();
      return {
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        total,
        counts,
        by_severity: bySeverity,
        by_facility: byFacility,
        ingest_rate: status.ingestRate,
        collector: {
          broker_connected: status.brokerConnected,
          store_writable: status.storeWritable,
          stored: status.stored,
          duplicates: status.duplicates,
          dead_lettered: status.deadLettered,
        },
        queue: { name: status.queue, depth: status.queueDepth },
        dead_letter_depth: status.deadLetterDepth,
        unrouted_depth: status.unroutedDepth,
        store: { size_bytes: facts.sizeBytes, oldest: iso(facts.oldest), newest: iso(facts.newest) },
      };
    },
  );
}
