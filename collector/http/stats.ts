import type { CollectorStatus } from '../status.js';
import type { RouteContext, TypedApp } from './logs.js';
import { Stats, StatsQuery } from './schemas.js';
import { parseWindow } from './window.js';

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
    async (req) => {
      const now = ctx.now();
      // Without since the window is the last hour; without until it ends now.
      const window = parseWindow(req.query.since ?? '1h', req.query.until ?? now.toISOString(), now);
      const since = window.since ?? now.getTime();
      const until = window.until ?? now.getTime();
      const counts: Record<string, Record<string, number>> = {};
      const bySeverity: Record<string, number> = {};
      const byFacility: Record<string, number> = {};
      let total = 0;
      const [keyCounts, facts] = await Promise.all([ctx.store.countsByKey(since, until), ctx.store.facts()]);
      for (const { facility, severity, count } of keyCounts) {
        const row = (counts[facility] ??= {});
        row[severity] = (row[severity] ?? 0) + count;
        bySeverity[severity] = (bySeverity[severity] ?? 0) + count;
        byFacility[facility] = (byFacility[facility] ?? 0) + count;
        total += count;
      }
      const status = ctx.status();
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
