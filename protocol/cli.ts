import { CommanderError, type Command } from 'commander';
import { DEFAULT_AMQP_URL, DEFAULT_API_URL, DEFAULT_EXCHANGE } from './config.js';
import { errorMessage, isWarrenError } from './errors.js';
import { warrenVersion } from './version.js';

/** Adds the options every command shares (CONTRACT §5), with their environment variables in the help. */
export function addCommonOptions(command: Command, which: { amqp?: boolean; api?: boolean } = {}): Command {
  command.version(warrenVersion(), '-V, --version', 'print the Warren version and exit');
  if (which.amqp !== false) {
    command.option(
      '--amqp <url>',
      `RabbitMQ URL, or a cluster's node URLs separated by commas (env AMQP_URL; default ${DEFAULT_AMQP_URL})`,
    );
    command.option('--exchange <name>', `topic exchange (env WARREN_EXCHANGE; default ${DEFAULT_EXCHANGE})`);
  }
  if (which.api === true) {
    command.option('--api <url>', `Warren HTTP API (env WARREN_API; default ${DEFAULT_API_URL})`);
  }
  return command;
}

/** Commander's collector for repeatable options (`--bind a --bind b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Prints a user-facing error in one or two lines, never a stack trace (unless WARREN_DEBUG is set). */
export function reportError(
  program: string,
  err: unknown,
  stderr: NodeJS.WritableStream = process.stderr,
): 1 | 2 {
  if (isWarrenError(err)) {
    stderr.write(`${program}: ${err.message}\n`);
    if (err.hint !== undefined) stderr.write(`  ${err.hint}\n`);
    if (process.env.WARREN_DEBUG !== undefined && err.cause !== undefined)
      stderr.write(`${errorMessage(err.cause)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`${program}: unexpected error: ${message}\n`);
  if (process.env.WARREN_DEBUG !== undefined && err instanceof Error && err.stack !== undefined) {
    stderr.write(`${err.stack}\n`);
  } else {
    stderr.write('  this is a bug in Warren; run again with WARREN_DEBUG=1 for details and report it\n');
  }
  return 1;
}

/**
 * Runs a command's main function and turns its outcome into the exit code of CONTRACT §5:
 * 0 done, 1 runtime failure, 2 bad usage. Commander's own usage errors exit 2 as well.
 */
export function runMain(program: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      if (err instanceof CommanderError) {
        process.exitCode = err.exitCode === 0 ? 0 : 2;
        return;
      }
      process.exitCode = reportError(program, err);
    },
  );
}
