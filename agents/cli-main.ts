import { runMain } from '../protocol/cli.js';
import { createAgent } from './agent.js';
import { createCliLogger } from './cli-log.js';
import { enableBufferRelief } from './memory.js';
import { parseAgentArgs } from './options.js';

/** How often --verbose prints the stats line. */
const VERBOSE_STATS_MS = 5000;

async function main(): Promise<number> {
  // `logship --help | head`: a closed stdout is not an error worth a stack trace.
  process.stdout.on('error', () => undefined);
  const config = parseAgentArgs(process.argv.slice(2));
  enableBufferRelief();
  const logger = createCliLogger('logship', config.verbose);
  const agent = createAgent(config, logger);
  // Stats are asked for (SIGUSR1, --verbose): logged at info even when the log level is warn.
  const statsLogger = logger.child({}, { level: 'info' });
  const printStats = (): void => statsLogger.info(agent.statsFields(), 'stats');
  process.on('SIGUSR1', printStats);
  await agent.start();
  const ticker = config.verbose ? setInterval(printStats, VERBOSE_STATS_MS) : undefined;
  ticker?.unref();

  const signalled = new Promise<string>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
      process.once(signal, () => resolve(signal));
  });
  const why = await Promise.race([agent.inputsEnded.then(() => 'end of input'), signalled]);
  logger.info(`${why}: flushing`);
  // A second signal means "now": stop waiting for confirms; the spool keeps the rest.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      logger.warn(`${signal} again: leaving unconfirmed records in the spool`);
      agent.shipper.hurry();
    });
  }
  const result = await agent.close();
  if (ticker !== undefined) clearInterval(ticker);
  if (config.verbose) printStats();
  if (result.spoolBytes > 0) {
    process.stderr.write(
      `logship: ${formatBytes(result.spoolBytes)} of records left in the spool ${agent.shipper.laneDir ?? config.spoolDir}; they are delivered on the next start\n`,
    );
  }
  if (result.lost > 0 || result.dropped > 0) {
    process.stderr.write(
      `logship: ${result.lost} records lost (spool full) and ${result.dropped} UDP records dropped\n`,
    );
    return exitSoon(1);
  }
  return exitSoon(0);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A stdin that never ended (signal) can hold the event loop open; everything is flushed by now. */
function exitSoon(code: number): number {
  setTimeout(() => process.exit(code), 200).unref();
  return code;
}

runMain('logship', main);
