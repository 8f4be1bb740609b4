/**
 * `npm run bench [-- --quick] [-- --only section,...]`: Warren's speed, measured side by side with
 * the physical ceilings of this machine and with the naive pipeline, in one run. Prints a table on
 * stdout (progress on stderr) and writes bench/results.json.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { runMain } from '../protocol/cli.js';
import { amqpCeiling, ceilingRecords, rawPublishRate, sqliteCeiling } from './ceilings.js';
import { naivePipeline } from './naive.js';
import { agentBench } from './agent.js';
import { collectorBench } from './collector.js';
import { postgresBench, POSTGRES_KEYS } from './postgres.js';
import { e2eBench } from './e2e.js';
import { HTTP_KEYS, httpBench } from './http.js';
import { QUERY_KEYS, queryBench } from './query.js';
import { ISOLATION_KEYS, isolationBench } from './isolation.js';
import { SYSLOG_KEYS, syslogBench } from './syslog.js';
import { AGENT_SYSLOG_KEYS, agentSyslogBench } from './agent-syslog.js';
import { tailBench } from './tail.js';
import { sseBench } from './sse.js';
import { measureFigure, ratio, type BenchContext } from './lib/context.js';
import { progress } from './lib/progress.js';
import { makeRecords } from './lib/records.js';
import { uniqueName } from '../testkit/broker.js';
import { repoRoot } from '../testkit/processes.js';
import { FIGURES, passes, renderTable } from './lib/report.js';
import { round } from './lib/stats.js';

interface Section {
  name: string;
  run: (context: BenchContext) => Promise<void>;
  /** The figures this section sets, noted as missing if it fails. */
  keys: readonly string[];
}

async function ceilings(context: BenchContext): Promise<void> {
  const count = context.quick ? 20_000 : 100_000;
  const records = ceilingRecords(count);
  // The rows Warren stores in the e2e and collector figures (200 B), so the ratios compare like with like.
  const rows = makeRecords(count, 200, uniqueName('rows'));
  await measureFigure(context, 'amqp_ceiling_msgs_per_s', 'amqp ceiling', () =>
    amqpCeiling(context.quick ? 10_000 : 50_000, records),
  );
  await measureFigure(context, 'raw_publish_msgs_per_s', 'raw publish', () =>
    rawPublishRate(context.quick ? 10_000 : 50_000, records),
  );
  await measureFigure(context, 'sqlite_ceiling_rows_per_s', 'sqlite ceiling', () =>
    Promise.resolve(sqliteCeiling(rows, false)),
  );
  await measureFigure(context, 'sqlite_fts_ceiling_rows_per_s', 'sqlite+fts ceiling', () =>
    Promise.resolve(sqliteCeiling(rows, true)),
  );
}

async function naive(context: BenchContext): Promise<void> {
  const records = ceilingRecords(context.quick ? 2_000 : 5_000);
  await measureFigure(context, 'naive_logs_per_s', 'naive peer', () => naivePipeline(records));
  // The same pipeline with better-sqlite3 as it comes (rollback journal, fsync per commit): for information.
  await measureFigure(
    context,
    'naive_sqlite_defaults_logs_per_s',
    'naive peer, sqlite defaults',
    () => naivePipeline(records.slice(0, context.quick ? 300 : 1_000), { sqliteDefaults: true }),
    false,
  );
}

const SECTIONS: readonly Section[] = [
  {
    name: 'ceilings',
    run: ceilings,
    keys: [
      'amqp_ceiling_msgs_per_s',
      'raw_publish_msgs_per_s',
      'sqlite_ceiling_rows_per_s',
      'sqlite_fts_ceiling_rows_per_s',
    ],
  },
  { name: 'naive', run: naive, keys: ['naive_logs_per_s', 'naive_sqlite_defaults_logs_per_s'] },
  {
    name: 'e2e',
    run: e2eBench,
    keys: ['e2e_logs_per_s', 'e2e_p50_ms', 'e2e_p99_ms', 'collector_rss_mb', 'agent_rss_mb'],
  },
  { name: 'agent', run: agentBench, keys: ['agent_confirmed_per_s', 'agent_spool_rss_mb'] },
  {
    name: 'collector',
    run: collectorBench,
    keys: ['collector_batched_per_s', 'collector_single_per_s', 'collector_alone_rss_mb'],
  },
  {
    name: 'query',
    run: queryBench,
    keys: QUERY_KEYS,
  },
  {
    name: 'syslog',
    run: syslogBench,
    keys: SYSLOG_KEYS,
  },
  { name: 'agent-syslog', run: agentSyslogBench, keys: AGENT_SYSLOG_KEYS },
  {
    name: 'isolation',
    run: isolationBench,
    keys: ISOLATION_KEYS,
  },
  { name: 'tail', run: tailBench, keys: ['tail_p50_ms', 'tail_p99_ms', 'tail_screen_rss_mb'] },
  { name: 'sse', run: sseBench, keys: ['sse_p99_ms'] },
  { name: 'http', run: httpBench, keys: HTTP_KEYS },
  { name: 'postgres', run: postgresBench, keys: POSTGRES_KEYS },
];

async function main(): Promise<number> {
  const program = new Command('bench')
    .description(
      'Measure Warren against the ceilings of this machine and the naive pipeline (table on stdout, bench/results.json)',
    )
    .option('--quick', 'a reduced run (under a minute), same figures')
    .option('--only <sections>', `comma-separated subset of: ${SECTIONS.map((s) => s.name).join(', ')}`)
    .option('--out <file>', 'where to write the results', path.join(repoRoot(), 'bench', 'results.json'))
    .exitOverride();
  program.parse(process.argv);
  const options = program.opts<{ quick?: boolean; only?: string; out: string }>();
  const only = options.only
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = only?.filter((name) => !SECTIONS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown section ${unknown.join(', ')} (known: ${SECTIONS.map((s) => s.name).join(', ')})\n`,
    );
    return 2;
  }
  const quick = options.quick === true;
  const context: BenchContext = { quick, repeats: quick ? 1 : 3, results: {}, notes: {}, samples: {} };
  for (const spec of FIGURES) context.results[spec.key] = null;
  const started = Date.now();
  progress(
    `bench ${quick ? '--quick' : 'full'} on ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}, load ${os.loadavg()[0]?.toFixed(2)}`,
  );
  for (const section of SECTIONS) {
    if (only !== undefined && !only.includes(section.name)) continue;
    progress(`== ${section.name}`);
    try {
      await section.run(context);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      progress(`${section.name} failed: ${message}`);
      for (const key of section.keys) {
        if (context.results[key] === null)
          context.notes[key] ??= `failed: ${message.split('\n')[0] ?? ''}`.slice(0, 160);
      }
    }
  }
  ratio(context, 'e2e_vs_amqp_ceiling', 'e2e_logs_per_s', 'amqp_ceiling_msgs_per_s');
  ratio(context, 'e2e_vs_naive', 'e2e_logs_per_s', 'naive_logs_per_s');
  ratio(context, 'agent_vs_raw_publish', 'agent_confirmed_per_s', 'raw_publish_msgs_per_s');
  ratio(context, 'collector_vs_sqlite_fts', 'collector_batched_per_s', 'sqlite_fts_ceiling_rows_per_s');
  const q1 = context.results.query_critical_1h_p99_ms;
  const q2 = context.results.query_kern_7d_p99_ms;
  context.results.query_p99_ms = q1 == null || q2 == null ? null : Math.max(q1, q2);

  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${renderTable(context.results, context.notes)}\n`);
  const failed = FIGURES.filter((spec) => passes(context.results[spec.key], spec.target) === false).map(
    (s) => s.key,
  );
  const missing = FIGURES.filter((spec) => context.results[spec.key] === null).map((s) => s.key);
  process.stdout.write(
    `\nbench ${quick ? '--quick ' : ''}took ${seconds.toFixed(0)} s; ${failed.length} target(s) missed${failed.length > 0 ? `: ${failed.join(', ')}` : ''}; ${missing.length} figure(s) not measured${missing.length > 0 ? `: ${missing.join(', ')}` : ''}\n` +
      'figures share 2 cores with whatever else runs on this machine: compare them within one run, not across runs\n' +
      (quick
        ? '--quick measures each figure once, cold, on small sets: throughput reads low; the targets are judged on the full run\n'
        : ''),
  );
  const rounded: Record<string, number | null> = {};
  for (const [key, value] of Object.entries(context.results))
    rounded[key] = value === null ? null : round(value, value < 100 ? 2 : 0);
  const output = {
    ...rounded,
    meta: {
      quick,
      date: new Date().toISOString(),
      seconds: round(seconds, 1),
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? null,
      load: os.loadavg(),
      node: process.version,
      targets: Object.fromEntries(
        FIGURES.filter((s) => s.target !== undefined).map((s) => [
          s.key,
          `${s.target?.op} ${s.target?.value}`,
        ]),
      ),
      verdicts: Object.fromEntries(FIGURES.map((s) => [s.key, passes(context.results[s.key], s.target)])),
      notes: context.notes,
      samples: context.samples,
    },
  };
  writeFileSync(options.out, `${JSON.stringify(output, null, 2)}\n`);
  progress(`wrote ${options.out}`);
  return 0;
}

runMain('bench', main);
