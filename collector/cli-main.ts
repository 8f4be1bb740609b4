import { Command, Option } from 'commander';
import pino from 'pino';
import { addCommonOptions, collect, runMain } from '../protocol/cli.js';
import { createCollector } from './collector.js';
import { COLLECTOR_DEFAULTS, resolveCollectorConfig, type CollectorFlags } from './config.js';

const program = new Command('logcollect')
  .description(
    'Consume log records from RabbitMQ into a store (a SQLite file, or PostgreSQL shared by several collectors), and serve them over HTTP (search, live stream, stats, metrics).',
  )
  .option(
    '--bind <pattern>',
    `topic pattern to archive, repeatable; severity ranges like '*.error+' allowed (default '${COLLECTOR_DEFAULTS.bind}')`,
    collect,
  )
  .option('--queue <name>', 'durable queue to consume (default <exchange>.archive)')
  .option('--db <file>', `SQLite store; its directory is created (default ${COLLECTOR_DEFAULTS.db})`)
  .option(
    '--store <url>',
    'a PostgreSQL store instead of SQLite, shared by several collectors: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (env WARREN_STORE; the schema is created and upgraded on start)',
  )
  .option('--listen <host:port>', `HTTP API address (default ${COLLECTOR_DEFAULTS.listen})`)
  .option(
    '--allow-host <name>',
    'a Host name the HTTP API also answers, repeatable (on a loopback --listen it answers only localhost, 127.0.0.1 and ::1; env WARREN_ALLOW_HOSTS, comma-separated)',
    collect,
  )
  .option('--quorum', 'declare the queue as a quorum queue (replicated; with a delivery limit)')
  .option(
    '--delivery-limit <n>',
    `quorum only: redeliveries before a message is dead-lettered (default ${COLLECTOR_DEFAULTS.deliveryLimit})`,
  )
  .option(
    '--retention <pattern=duration>',
    "delete records older than DURATION whose routing key matches PATTERN; repeatable, first match wins, unmatched kept (e.g. '*.debug=1d' '#=30d')",
    collect,
  )
  .option('--batch-records <n>', `records per transaction (default ${COLLECTOR_DEFAULTS.batchRecords})`)
  .option('--batch-messages <n>', `messages per transaction (default ${COLLECTOR_DEFAULTS.batchMessages})`)
  .option('--linger-ms <ms>', `longest wait for a partial batch (default ${COLLECTOR_DEFAULTS.lingerMs})`)
  .option(
    '--prefetch <n>',
    `unacked messages the broker may send ahead (default ${COLLECTOR_DEFAULTS.prefetch})`,
  )
  .option(
    '--max-message-bytes <n>',
    `larger bodies are dead-lettered whole (default ${COLLECTOR_DEFAULTS.maxMessageBytes})`,
  )
  .option(
    '--query-timeout <duration>',
    `a query running longer is stopped and answered 504 (env WARREN_QUERY_TIMEOUT; default ${COLLECTOR_DEFAULTS.queryTimeout})`,
  )
  .option(
    '--query-workers <n>',
    `reader processes for the API's pages and counts, beside one for live streams; 0 reads on the ingest thread (env WARREN_QUERY_WORKERS; default ${COLLECTOR_DEFAULTS.queryWorkers})`,
  )
  .option(
    '--query-queue <n>',
    `queries that may wait for a reader before the API answers 503 with Retry-After (default ${COLLECTOR_DEFAULTS.queryQueue})`,
  )
  .option(
    '--connection-name <name>',
    'name shown by rabbitmqctl list_connections (default logcollect@HOST:PID)',
  )
  .addOption(
    new Option('--log-level <level>', 'log level of the JSON log on stderr')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
  );
addCommonOptions(program, { amqp: true });
program.addHelpText(
  'after',
  `
Environment: AMQP_URL, WARREN_STORE, WARREN_EXCHANGE, WARREN_TOKEN (when set, the HTTP API requires "Authorization: Bearer <token>"),
WARREN_ALLOW_HOSTS, WARREN_QUERY_TIMEOUT, WARREN_QUERY_WORKERS.
Records that cannot be decoded go to <exchange>.dead with the reason in the x-warren-error header.
SIGTERM or Ctrl-C commits and acks the batch in hand, then exits; a second one exits at once.

Commands:
  logcollect migrate --db FILE --store URL   copy a SQLite store into PostgreSQL (see logcollect migrate --help)

Examples:
  logcollect
  logcollect --bind 'kern.*' --bind '*.error+' --retention '*.debug=1d' --retention '#=30d'
  logcollect --quorum --db /var/lib/warren/warren.db --listen 0.0.0.0:8080
  logcollect --quorum --store postgres://warren@db.internal/warren --amqp amqp://rabbit1,amqp://rabbit2,amqp://rabbit3`,
);

/** What commander gives: the collector's own flags (resolveCollectorConfig validates them) plus the log level. */
type CliOptions = CollectorFlags & { logLevel: string };

runMain('logcollect', async () => {
  // Loaded for `migrate` only: it brings pg, which a SQLite collector never needs.
  if (process.argv[2] === 'migrate')
    return (await import('./migrate-cli.js')).runMigrate(process.argv.slice(3));
  program.exitOverride();
  program.parse();
  const options = program.opts<CliOptions>();
  const config = resolveCollectorConfig(options);
  const logger = pino({ name: 'logcollect', level: options.logLevel }, pino.destination(2));
  const collector = createCollector(config, { logger });

  // Listen before starting: a signal during start-up still shuts down cleanly once started.
  let signals = 0;
  const signalled = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now; unacked messages are redelivered');
        process.exit(1);
      }
      logger.info({ signal }, 'shutting down: committing the batch in hand');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await collector.start();
  await signalled;
  await collector.close();
  return 0;
});
