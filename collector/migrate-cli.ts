import { Command } from 'commander';
import pino from 'pino';
import { ErrorCodes, WarrenError, nonEmpty } from '../protocol/index.js';
import { COLLECTOR_DEFAULTS, resolveCollectorConfig } from './config.js';
import { copyToPostgres } from './store/copy-to-postgres.js';

/** `logcollect migrate`: a SQLite store into PostgreSQL, once, before collectors move to it. */
export async function runMigrate(argv: readonly string[]): Promise<number> {
  const program = new Command('logcollect migrate')
    .description(
      'Copy every record of a SQLite store into a PostgreSQL store (its schema is created). Stop the collector writing the file first; then start collectors with --store.',
    )
    .option('--db <file>', `the SQLite store to copy (default ${COLLECTOR_DEFAULTS.db})`)
    .option(
      '--store <url>',
      'the PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (env WARREN_STORE)',
    )
    .option('--resume', 'continue an interrupted copy into a store that already holds records')
    .option('--batch <n>', 'records per transaction (default 5000)')
    .addHelpText(
      'after',
      `
Records keep their ids, times, keys and fields; their seq is new (PostgreSQL allocates it). A record
with an id is never stored twice, so --resume after an interruption is safe for them; records without
an id (some foreign publishers) would be copied again.

Example:
  logcollect migrate --db /var/lib/warren/warren.db --store postgres://warren@db.internal/warren`,
    );
  program.exitOverride();
  program.parse(argv, { from: 'user' });
  const options = program.opts<{ db?: string; store?: string; resume?: boolean; batch?: string }>();
  const store = options.store ?? nonEmpty(process.env.WARREN_STORE);
  if (store === undefined) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, 'migrate needs the PostgreSQL store to copy into', {
      hint: 'give --store postgres://USER@HOST/DB (or set WARREN_STORE)',
    });
  }
  // The same checks as the collector's own flags: a bad URL is a usage error here too.
  const config = resolveCollectorConfig({ store, listen: false }, {});
  const batch = options.batch === undefined ? 5000 : Number(options.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) {
    throw new WarrenError(
      ErrorCodes.BAD_USAGE,
      `--batch must be a whole number from 1 to 100000, got '${options.batch}'`,
      {
        hint: 'e.g. --batch 5000',
      },
    );
  }
  const logger = pino({ name: 'logcollect', level: 'warn' }, pino.destination(2));
  const dbPath = options.db ?? COLLECTOR_DEFAULTS.db;
  const started = Date.now();
  let lastReport = 0;
  const result = await copyToPostgres(dbPath, config.storeUrl ?? store, logger, {
    batch,
    resume: options.resume === true,
    onProgress: (done, total) => {
      if (Date.now() - lastReport < 1000 && done < total) return;
      lastReport = Date.now();
      process.stderr.write(`copied ${done} of ${total} records\n`);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ read: result.read, stored: result.stored, duplicates: result.duplicates, without_id: result.withoutId, seconds })}\n`,
  );
  return 0;
}
