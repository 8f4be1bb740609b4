import { fmt } from './stats.js';

/** A pass/fail target from the issues, printed next to its figure. */
export interface Target {
  op: '>=' | '<=';
  value: number;
  /** Where the target comes from, e.g. "issue 4". */
  source: string;
}

export interface FigureSpec {
  key: string;
  label: string;
  unit: string;
  target?: Target;
}

export type Results = Record<string, number | null>;

/** Every figure the suite reports, in table order, with the issues' targets. */
export const FIGURES: readonly FigureSpec[] = [
  {
    key: 'amqp_ceiling_msgs_per_s',
    label: 'raw amqplib persistent+confirm publish -> consume, 300 B',
    unit: 'msg/s',
  },
  {
    key: 'raw_publish_msgs_per_s',
    label: 'raw amqplib persistent+confirm publish only, 300 B',
    unit: 'msg/s',
  },
  {
    key: 'sqlite_ceiling_rows_per_s',
    label: 'raw better-sqlite3, 200 B rows, collector batch size and pragmas, no FTS',
    unit: 'rows/s',
  },
  {
    key: 'sqlite_fts_ceiling_rows_per_s',
    label: 'raw better-sqlite3, 200 B rows, collector batch size and pragmas, + FTS',
    unit: 'rows/s',
  },
  {
    key: 'naive_logs_per_s',
    label: 'naive peer: msg per record, prefetch 1, insert+ack each',
    unit: 'logs/s',
  },
  {
    key: 'naive_sqlite_defaults_logs_per_s',
    label: 'naive peer with better-sqlite3 defaults (rollback journal, fsync per insert); not used in ratios',
    unit: 'logs/s',
  },
  {
    key: 'e2e_logs_per_s',
    label: 'Warren e2e: logship stdin -> broker -> logcollect -> SQLite+FTS',
    unit: 'logs/s',
    target: { op: '>=', value: 50_000, source: 'issue 7' },
  },
  {
    key: 'e2e_vs_amqp_ceiling',
    label: 'e2e / amqp ceiling',
    unit: 'x',
    target: { op: '>=', value: 2, source: 'issue 7' },
  },
  {
    key: 'e2e_vs_naive',
    label: 'e2e / naive peer',
    unit: 'x',
    target: { op: '>=', value: 40, source: 'issue 7' },
  },
  { key: 'e2e_p50_ms', label: 'publish-to-queryable p50 at 10,000 logs/s', unit: 'ms' },
  {
    key: 'e2e_p99_ms',
    label: 'publish-to-queryable p99 at 10,000 logs/s',
    unit: 'ms',
    target: { op: '<=', value: 1_000, source: 'issue 4' },
  },
  {
    key: 'collector_rss_mb',
    label: 'logcollect peak RSS during e2e',
    unit: 'MiB',
    target: { op: '<=', value: 250, source: 'issue 4' },
  },
  {
    key: 'agent_rss_mb',
    label: 'logship peak RSS during e2e',
    unit: 'MiB',
    target: { op: '<=', value: 150, source: 'issue 3' },
  },
  {
    key: 'agent_confirmed_per_s',
    label: 'logship stdin -> confirmed on broker, 200 B lines',
    unit: 'logs/s',
    target: { op: '>=', value: 100_000, source: 'issue 3' },
  },
  {
    key: 'agent_vs_raw_publish',
    label: 'logship / raw per-message confirm publish',
    unit: 'x',
    target: { op: '>=', value: 5, source: 'issue 3' },
  },
  {
    key: 'agent_spool_rss_mb',
    label: 'logship peak RSS, 1M records into the spool (broker down)',
    unit: 'MiB',
    target: { op: '<=', value: 150, source: 'issue 3' },
  },
  {
    key: 'collector_batched_per_s',
    label: 'logcollect from pre-filled queue, NDJSON batches',
    unit: 'logs/s',
    target: { op: '>=', value: 50_000, source: 'issue 4' },
  },
  {
    key: 'collector_single_per_s',
    label: 'logcollect from pre-filled queue, one record per msg',
    unit: 'logs/s',
    target: { op: '>=', value: 20_000, source: 'issue 4' },
  },
  {
    key: 'pg_writer_per_s',
    label: "collector's PostgreSQL writer, batches of 5,000 (no broker)",
    unit: 'logs/s',
  },
  {
    key: 'pg_copy_ceiling_rows_per_s',
    label: 'raw COPY of the same rows into the same PostgreSQL schema',
    unit: 'rows/s',
  },
  {
    key: 'pg_query_records',
    label: 'records in the PostgreSQL query store (7 days, generated in PostgreSQL)',
    unit: 'records',
  },
  {
    key: 'pg_query_critical_1h_p99_ms',
    label: 'PostgreSQL: GET /api/logs?pattern=*.critical&since=1h p99',
    unit: 'ms',
    target: { op: '<=', value: 100, source: 'issue 17' },
  },
  {
    key: 'pg_query_kern_7d_p99_ms',
    label: 'PostgreSQL: GET /api/logs?pattern=kern.#&since=7d p99',
    unit: 'ms',
    target: { op: '<=', value: 100, source: 'issue 17' },
  },
  {
    key: 'pg_fts_p99_ms',
    label: 'PostgreSQL: full text, rare word over 7 days, p99',
    unit: 'ms',
    target: { op: '<=', value: 300, source: 'issue 17' },
  },
  {
    key: 'pg_e2e_two_collectors_per_s',
    label: 'logship stdin → two collectors on one PostgreSQL store, committed',
    unit: 'logs/s',
  },
  {
    key: 'pg_e2e_sqlite_one_collector_per_s',
    label: 'the same lines, same run: one collector on SQLite',
    unit: 'logs/s',
  },
  {
    key: 'pg_writer_vs_copy',
    label: 'PostgreSQL writer / COPY ceiling',
    unit: 'x',
    target: { op: '>=', value: 0.5, source: 'issue 17' },
  },
  {
    key: 'collector_vs_sqlite_fts',
    label: 'collector batched / raw sqlite+FTS ceiling',
    unit: 'x',
    target: { op: '>=', value: 0.5, source: 'issue 4' },
  },
  {
    key: 'collector_alone_rss_mb',
    label: 'logcollect peak RSS, pre-filled queue',
    unit: 'MiB',
    target: { op: '<=', value: 250, source: 'issue 4' },
  },
  { key: 'query_records', label: 'records in the query store (7 days, 40 facilities)', unit: 'rows' },
  {
    key: 'query_critical_1h_p99_ms',
    label: 'GET /api/logs?pattern=*.critical&since=1h p99',
    unit: 'ms',
    target: { op: '<=', value: 50, source: 'issue 5' },
  },
  {
    key: 'query_kern_7d_p99_ms',
    label: 'GET /api/logs?pattern=kern.%23&since=7d&limit=100 p99',
    unit: 'ms',
    target: { op: '<=', value: 50, source: 'issue 5' },
  },
  {
    key: 'query_p99_ms',
    label: 'query p99 (worst of the two above)',
    unit: 'ms',
    target: { op: '<=', value: 50, source: 'issue 5' },
  },
  {
    key: 'fts_p99_ms',
    label: 'GET /api/logs?q=<rare word>&since=7d p99',
    unit: 'ms',
    target: { op: '<=', value: 200, source: 'issue 5' },
  },
  {
    key: 'tail_p99_ms',
    label: 'publish -> logtail --json stdout p99 at 1,000/s',
    unit: 'ms',
    target: { op: '<=', value: 100, source: 'issue 6' },
  },
  {
    key: 'volume_1h_p99_ms',
    label: 'GET /api/logs/volume?since=1h&step=1m on the query store',
    unit: 'ms',
    target: { op: '<=', value: 50, source: 'issue 16' },
  },
  {
    key: 'volume_7d_p99_ms',
    label: 'GET /api/logs/volume?since=7d&step=1h on the query store',
    unit: 'ms',
    target: { op: '<=', value: 500, source: 'issue 16' },
  },
  {
    key: 'field_filter_1h_p99_ms',
    label: 'GET /api/logs?q=status:500&since=1h (a field filter)',
    unit: 'ms',
    target: { op: '<=', value: 200, source: 'issue 16' },
  },
  {
    key: 'top_host_1h_p99_ms',
    label: 'GET /api/logs/top?by=host&since=1h',
    unit: 'ms',
    target: { op: '<=', value: 200, source: 'issue 16' },
  },
  {
    key: 'export_records_per_s',
    label: 'GET /api/logs/export?since=1d read as fast as possible',
    unit: 'rec/s',
    target: { op: '>=', value: 100_000, source: 'issue 16' },
  },
  {
    key: 'export_slow_rss_growth_mb',
    label: 'logcollect RSS growth while a client reads the 7 d export at 640 KiB/s for 20 s',
    unit: 'MiB',
    target: { op: '<=', value: 20, source: 'issue 16: flat' },
  },
  {
    key: 'http_stdin_per_s',
    label: 'logship stdin -> confirmed, 200 B lines (the reference for the receiver, same run)',
    unit: 'logs/s',
  },
  {
    key: 'http_otlp_per_s',
    label: 'logship --http: OTLP protobuf, 1,000 records a request, 4 in flight, to 2xx (confirmed)',
    unit: 'logs/s',
  },
  {
    key: 'http_vs_stdin',
    label: 'OTLP receiver / stdin, confirmed records per second',
    unit: 'x',
    target: { op: '>=', value: 0.5, source: 'issue 18' },
  },
  {
    key: 'http_rss_mb',
    label: 'logship --http peak RSS under that load',
    unit: 'MiB',
  },
  {
    key: 'syslog_e2e_logs_per_s',
    label:
      '1M RFC 3164 lines, 85 keys, one TCP connection -> logship --syslog tcp -> broker -> logcollect -> SQLite+FTS',
    unit: 'logs/s',
  },
  {
    key: 'syslog_cpu_s_per_100k',
    label: 'CPU s per 100k records, agent + collector + broker, in that run',
    unit: 's',
    target: { op: '<=', value: 2.0, source: 'issue 15' },
  },
  {
    key: 'syslog_agent_rss_mb',
    label: 'logship peak RSS during that burst',
    unit: 'MiB',
    target: { op: '<=', value: 80, source: 'issue 15' },
  },
  {
    key: 'syslog_collector_rss_mb',
    label: 'logcollect peak RSS during that burst',
    unit: 'MiB',
    target: { op: '<=', value: 150, source: 'issue 15' },
  },
  {
    key: 'syslog_spooled_while_connected',
    label: 'records logship spooled to disk during that burst (the broker was up throughout)',
    unit: 'records',
    target: { op: '<=', value: 0, source: 'issue 15' },
  },
  { key: 'syslog_broker_growth_mb', label: 'RabbitMQ RSS growth during that burst', unit: 'MiB' },
  {
    key: 'syslog_peer_logs_per_s',
    label:
      'peer: the same lines -> syslog-ng network() -> sql() SQLite, 4 indexes, no FTS, 5,000 a commit, WAL, synchronous=FULL (after each Warren burst)',
    unit: 'logs/s',
  },
  { key: 'syslog_peer_cpu_s_per_100k', label: 'peer: syslog-ng CPU s per 100k records', unit: 's' },
  { key: 'syslog_peer_rss_mb', label: 'peer: syslog-ng peak RSS', unit: 'MiB' },
  {
    key: 'syslog_e2e_vs_peer',
    label: 'Warren syslog e2e / syslog-ng -> SQLite (no index), same run',
    unit: 'x',
    target: { op: '>=', value: 1, source: 'issue 15: the fastest index-less peer (~78k/s when filed)' },
  },
  {
    key: 'syslog_cpu_vs_peer',
    label:
      "Warren's CPU per record / syslog-ng's, same run (issue 15 set 2.0 s when the peer took 1.30: 1.54x); this machine's speed moves both",
    unit: 'x',
  },
  {
    key: 'agent_syslog_lines_per_s',
    label: 'logship alone: the same burst, to an exchange no collector serves, until all is confirmed',
    unit: 'logs/s',
  },
  { key: 'agent_syslog_cpu_s_per_100k', label: 'logship alone: its CPU s per 100k lines', unit: 's' },
  {
    key: 'agent_syslog_rss_mb',
    label: 'logship alone: its peak RSS',
    unit: 'MiB',
    target: { op: '<=', value: 80, source: 'issue 15' },
  },
  {
    key: 'isolation_ingest_per_s',
    label: 'e2e ingest into the 5M-record query store, no queries (the ratio below is against it)',
    unit: 'logs/s',
  },
  {
    key: 'isolation_ingest_ratio',
    label: 'e2e ingest while 4 clients repeat a pathological query (q=n1*), / alone',
    unit: 'x',
    target: { op: '>=', value: 0.8, source: 'issue 14' },
  },
  {
    key: 'isolation_healthz_p99_ms',
    label: 'GET /healthz p99 during those queries',
    unit: 'ms',
    target: { op: '<=', value: 50, source: 'issue 14' },
  },
  { key: 'tail_p50_ms', label: 'publish -> logtail --json stdout p50 at 1,000/s', unit: 'ms' },
  {
    key: 'tail_screen_rss_mb',
    label: 'logtail Ink screen (tmux) peak RSS at 20,000 records/s',
    unit: 'MiB',
    target: { op: '<=', value: 150, source: 'issue 6' },
  },
  {
    key: 'sse_p99_ms',
    label: 'stored -> GET /api/logs/stream event p99 at 5,000/s ingest',
    unit: 'ms',
    target: { op: '<=', value: 100, source: 'issue 5' },
  },
];

export function passes(value: number | null | undefined, target: Target | undefined): boolean | null {
  if (target === undefined || value === null || value === undefined || !Number.isFinite(value)) return null;
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

/** The side-by-side table: figure, value, target and verdict; `notes` say why a figure is missing. */
export function renderTable(results: Results, notes: Record<string, string>): string {
  const rows: string[][] = [['figure', 'value', 'unit', 'target', 'verdict', 'what']];
  for (const spec of FIGURES) {
    const value = results[spec.key];
    const verdict = passes(value, spec.target);
    rows.push([
      spec.key,
      value === null || value === undefined ? 'n/a' : fmt(value),
      spec.unit,
      spec.target === undefined ? '' : `${spec.target.op} ${fmt(spec.target.value)} (${spec.target.source})`,
      verdict === null ? (spec.target === undefined ? '' : 'n/a') : verdict ? 'PASS' : 'FAIL',
      notes[spec.key] !== undefined ? `${spec.label} [${notes[spec.key]}]` : spec.label,
    ]);
  }
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row, index) => {
      const line = row
        .map((cell, column) =>
          column === 1 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
        )
        .join('  ')
        .trimEnd();
      return index === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}
