import os from 'node:os';
import { Command, Option } from 'commander';
import {
  ErrorCodes,
  explainPatterns,
  parsePatterns,
  parseTimeOrDuration,
  readWholeNumber,
  resolveCommonConfig,
  WarrenError,
} from '../protocol/index.js';
import { addCommonOptions, runMain } from '../protocol/cli.js';
import type { ColorMode } from './format.js';
import { openOutput, type OutputMode } from './output/index.js';
import { runTail, type TailConfig } from './tail.js';

const EXAMPLES = `
Patterns (CONTRACT.md §3): AMQP topic patterns over <facility>.<severity> keys; * is one word,
# zero or more; <severity>+ means that severity and every more severe one. A pattern ending in
a severity also binds its aliases and UPPER case (*.critical gets kern.crit and KERN.FATAL).

Examples:
  logtail '*.critical'                  critical records from every facility, live
  logtail 'kern.*' 'auth.warning+'      everything from kern, auth warnings and worse
  logtail --since 15m '*.error+'        the last 15 minutes from the API, then live, no gap
  logtail --since 2026-11-21T22:00:00Z --no-follow -q timeout > history.ndjson
  logtail --since 2h --until 1h 'kern.*'  one hour of history, two hours ago, then exit
  logtail -n 50 '*.error+'              the last 50 errors from the API, then live (like tail -n)
  logtail --json '#' | jq -r .msg       NDJSON, one record per line (the default in a pipe)
  logtail -q 'status:>=500 -host:test-*' 'app.*'   a query on fields and host, live
  logtail --explain '*.error+'          show the broker bindings a pattern becomes

Keys on the screen: space pause/follow · / filter (text or /regex/) · s minimum severity ·
c clear counts · q or Ctrl-C quit.

Environment: AMQP_URL, WARREN_EXCHANGE, WARREN_API, WARREN_TOKEN (bearer token for the API),
NO_COLOR. Exit codes: 0 done (Ctrl-C too), 1 runtime failure, 2 bad usage.`;

/** The tail queue's byte cap: what one slow terminal may cost the broker, whatever the batch sizes. */
const MAX_QUEUE_BYTES = 16 * 1024 * 1024;
/** The tail queue's message cap unless --max-length says otherwise. */
const DEFAULT_MAX_LENGTH = 10_000;

interface Flags {
  amqp?: string;
  exchange?: string;
  api?: string;
  since?: string;
  until?: string;
  lines?: string;
  follow: boolean;
  query?: string;
  host?: string;
  json?: boolean;
  text?: boolean;
  color: ColorMode;
  explain?: boolean;
  maxLength: string;
}

function positiveInt(text: string, flag: string): number {
  const n = readWholeNumber(text, { min: 1 });
  if (n === undefined) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `${flag} must be a positive whole number, not '${text}'`, {
      hint: `e.g. ${flag} ${DEFAULT_MAX_LENGTH}`,
    });
  }
  return n;
}

export function buildProgram(): Command {
  const program = new Command('logtail')
    .description('Tail Warren logs live from RabbitMQ: an Ink dashboard in a terminal, NDJSON in a pipe.')
    .argument('[pattern...]', 'routing-key patterns to tail (default #)')
    .option(
      '--since <time>',
      'first show history from the HTTP API since a duration ago (15m, 2h, 7d) or an ISO time',
    )
    .option(
      '--until <time>',
      'end the history there (a duration ago or an ISO time); prints the window from --since and exits',
    )
    .option(
      '-n, --lines <n>',
      'first show the newest N records from the API (of the --since window, if given), then follow, like tail -n',
    )
    .option('--no-follow', 'print the history (needs --since or -n) and exit instead of going live')
    .option(
      '-q, --query <query>',
      'the query language of the API\'s q: words, "phrases", name:value on host/app/pid/facility/severity/id or any field (status:>=500, host:web-*), -term, OR, ( ); history and live alike',
    )
    .option('--host <host>', 'only records from this host')
    .option('--json', 'print NDJSON, one record per line (the default when stdout is not a terminal)')
    .option('--text', 'print plain text lines instead of the screen or NDJSON')
    .addOption(
      new Option('--color <when>', 'colour text output: auto, always or never (NO_COLOR is honoured)')
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .option('--explain', 'print the broker bindings the patterns become and exit')
    .option(
      '--max-length <n>',
      `messages the tail queue keeps for a slow terminal before dropping (and counting) the oldest; it also keeps at most ${MAX_QUEUE_BYTES / 1024 / 1024} MiB`,
      String(DEFAULT_MAX_LENGTH),
    );
  addCommonOptions(program, { amqp: true, api: true });
  program.addHelpText('after', EXAMPLES);
  program.exitOverride();
  program.configureOutput({
    outputError: (text, write) => write(text.replace(/^error: /, 'logtail: ')),
  });
  return program;
}

function chooseMode(flags: Flags): OutputMode {
  if (flags.json === true && flags.text === true) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--json and --text contradict each other', {
      hint: 'choose one',
    });
  }
  if (flags.json === true) return 'json';
  if (flags.text === true) return 'text';
  // Ink needs a keyboard and a screen; anything else gets the same stream as lines.
  if (process.stdout.isTTY && process.stdin.isTTY) return 'screen';
  return process.stdout.isTTY ? 'text' : 'json';
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.parse(argv);
  const flags = program.opts<Flags>();
  const patterns = parsePatterns(program.args);
  if (flags.explain === true) {
    process.stdout.write(`${explainPatterns(patterns)}\n`);
    return 0;
  }
  const common = resolveCommonConfig({ amqp: flags.amqp, exchange: flags.exchange, api: flags.api });
  const since = flags.since === undefined ? undefined : parseTimeOrDuration(flags.since);
  const until = flags.until === undefined ? undefined : parseTimeOrDuration(flags.until);
  if (until !== undefined && since === undefined) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--until ends a window of history, so it needs --since', {
      hint: 'e.g. logtail --since 2h --until 1h',
    });
  }
  if (until !== undefined && since !== undefined && until <= since) {
    throw new WarrenError(
      ErrorCodes.BAD_USAGE,
      `--until ${flags.until ?? ''} is not after --since ${flags.since ?? ''}`,
      {
        hint: 'e.g. logtail --since 2h --until 1h',
      },
    );
  }
  const lines = flags.lines === undefined ? undefined : positiveInt(flags.lines, '-n');
  if (lines !== undefined && lines > 10_000) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `-n ${lines} is more than 10000 records`, {
      hint: 'for more, use --since with --no-follow (or GET /api/logs/export)',
    });
  }
  if (!flags.follow && since === undefined && lines === undefined) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--no-follow prints history, so it needs --since or -n', {
      hint: 'e.g. logtail --since 1h --no-follow, or logtail -n 100 --no-follow',
    });
  }
  const maxLength = positiveInt(flags.maxLength, '--max-length');
  const mode = chooseMode(flags);
  const config: TailConfig = Object.freeze({
    amqpUrl: common.amqpUrl,
    exchange: common.exchange,
    apiUrl: common.apiUrl,
    token: common.token,
    patterns,
    since,
    until,
    lines,
    // A window that ends cannot be followed live.
    follow: flags.follow && until === undefined,
    query: flags.query,
    host: flags.host,
    backfillOnReconnect:
      since !== undefined ||
      lines !== undefined ||
      flags.api !== undefined ||
      process.env.WARREN_API !== undefined,
    maxLength,
    maxLengthBytes: MAX_QUEUE_BYTES,
    prefetch: 200,
    connectionName: `logtail@${os.hostname()}:${process.pid}`,
  });

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const output = await openOutput(mode, {
    patterns: patterns.map((p) => p.source),
    color: flags.color,
    maxLength,
    stop,
    api: { apiUrl: config.apiUrl, token: config.token },
  });
  try {
    await runTail(config, output.sink, controller.signal);
  } finally {
    await output.close();
  }
  return 0;
}

runMain('logtail', () => main(process.argv));
