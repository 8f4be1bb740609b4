import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import {
  ErrorCodes,
  WarrenError,
  parseDuration,
  parseFacility,
  parseSeverity,
  readWholeNumber,
  resolveCommonConfig,
} from '../protocol/index.js';
import { addCommonOptions, collect } from '../protocol/cli.js';
import { DEFAULT_BATCH_LIMITS } from './batcher.js';
import { parseSyslogUrl, type SyslogAddress } from './inputs/syslog.js';
import { resolveHttpAuth, type HttpAuth } from './inputs/http/auth.js';
import { parseHttpAddress, type HttpAddress } from './inputs/http/address.js';
import { DEFAULT_MAX_LINE_BYTES } from './parse/line.js';
import {
  DEFAULT_CONTINUATION,
  DEFAULT_MULTILINE_LINGER_MS,
  type MultilineOptions,
} from './parse/multiline.js';
import { SHIPPER_DEFAULTS, defaultSpoolDir, type ShipperSettings } from './shipper.js';

export interface HttpInputSettings {
  readonly address: HttpAddress;
  readonly auth: HttpAuth;
  readonly maxBodyBytes: number;
}

/** logship's configuration: the shipper's settings plus its inputs; validated once here, then frozen. */
export interface AgentConfig extends ShipperSettings {
  readonly stdin: boolean;
  readonly files: readonly string[];
  readonly fromStart: boolean;
  readonly stateFile: string;
  readonly syslog: readonly SyslogAddress[];
  /** The HTTP receiver (OTLP, Loki push, Elasticsearch bulk), when --http is given. */
  readonly http: HttpInputSettings | undefined;
  readonly json: boolean;
  readonly multiline: MultilineOptions | undefined;
  readonly maxLineBytes: number;
  readonly verbose: boolean;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i;
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `256k`, `64m`, `1g`, `1000` → bytes (binary units). */
export function parseSize(text: string, flag: string): number {
  const match = SIZE.exec(text.trim());
  const unit = (match?.[2] ?? '').toLowerCase().charAt(0);
  const bytes = match === null ? NaN : Number(match[1]) * (SIZE_UNITS[unit] ?? NaN);
  if (!Number.isFinite(bytes) || bytes < 1) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid size '${text}' for ${flag}`, {
      hint: 'use a number of bytes with an optional unit k, m or g (e.g. 256k, 64m, 1g)',
    });
  }
  return Math.floor(bytes);
}

/** Bytes as the shortest size flag that says them exactly (`1g`, `256k`), for help-text defaults. */
export function formatSize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const size = SIZE_UNITS[unit] ?? 1;
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

function parseCount(text: string, flag: string, min = 1): number {
  const n = readWholeNumber(text, { min });
  if (n === undefined) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid number '${text}' for ${flag}`, {
      hint: `use a whole number of at least ${min}`,
    });
  }
  return n;
}

function parseRegex(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.BAD_USAGE,
      `invalid --multiline pattern '${text}': ${(err as Error).message}`,
      {
        hint: "a JavaScript regular expression matched against each line, e.g. '^\\s' or '^[^\\[]'",
      },
    );
  }
}

/** The HTTP receiver's body cap: an OTLP batch of thousands of records, or a Loki push, fits. */
const DEFAULT_HTTP_MAX_BODY = '16m';

const EXAMPLES = `
Inputs (stdin is read when no --file, --syslog or --http is given, or with --stdin):
  Plain lines take --facility/--severity. JSON object lines (pino, bunyan) are read:
  level → severity, time → ts, msg → msg, hostname/pid/name → host/pid/app, the rest → fields.
  Continuation lines (leading whitespace, "Caused by:", "... N more", or --multiline REGEX) are
  joined into the record before them; a record waits at most --multiline-timeout for them.
  Lines longer than --max-line bytes are cut and end with " …[truncated N bytes]"; invalid
  UTF-8 becomes U+FFFD and the record gets fields.invalid_utf8. Nothing stops the agent.

HTTP receiver (--http [HOST:]PORT), several doors on one port:
  POST /v1/logs                 OTLP/HTTP logs, protobuf or JSON (OpenTelemetry SDKs, Collector)
  POST /loki/api/v1/push        Loki push, JSON or snappy protobuf (Promtail, Alloy, Vector, pino-loki)
  POST /_bulk, /{index}/_bulk   Elasticsearch bulk NDJSON (Vector, Fluent Bit, Logstash, Filebeat)
  GET /metrics                  the receiver's request counters (Prometheus text)
  A request is answered 2xx only once all its records are confirmed by the broker or fsync'd
  in the spool; 429/503 with Retry-After while logship cannot take them. gzip accepted.
  Bodies over --http-max-body are refused (413), so are malformed ones (400) and unknown
  content types (415); nothing of a refused request is shipped. Requests from web pages
  (an Origin header) are refused (403).
  Mapping: OTLP service.name, a Loki service label (service_name, job, app, ...) or ECS
  service.name → facility (made valid: lower case, other characters '-'); severity_number,
  a level label or log.level → severity; other attributes, labels and document keys → fields.
  Auth: WARREN_HTTP_TOKEN=T requires "Authorization: Bearer T"; WARREN_HTTP_BASIC=user:pass
  requires basic auth (either one is accepted when both are set). Secrets are read from the
  environment only, never from flags. --http-auth bearer|basic|bearer,basic says which
  schemes are required and refuses to start when their variable is unset; --http-auth none
  runs the receiver open on purpose (a non-loopback --http without auth is warned about).
  The stats line adds http_requests, http_refused, http_records and http_bytes.

Files:
  Followed like tail -F: a renamed file is read to its end, then the new one from its start;
  a truncated file (copytruncate) is read again from 0. Positions are kept in --state-file and
  cover only records confirmed or fsync'd in the spool. A glob that also matches rotated names
  (app.log*) recognises renamed files by inode, but not copies made by copytruncate.

Delivery:
  Records are batched per routing key (<facility>.<severity>) into application/x-ndjson
  messages of at most --batch-records records / --batch-bytes bytes, sealed after --linger
  (250 ms while messages wait behind a full window); published persistent with publisher
  confirms, at most --window messages unconfirmed.
  Every record has an id <host>:<lane id>:<sequence> for the collector's dedupe.
  While the broker is connected, stdin, files and TCP syslog are paused when 1 MiB of
  batches wait (back-pressure), not spooled; UDP datagrams are queued, then spooled.
  While RabbitMQ is unreachable (or memory is full) batches go to the disk spool (fsync'd),
  and are delivered oldest first, in order per routing key, when it is back. When the spool
  reaches --spool-max, stdin and files are paused and UDP syslog datagrams are dropped
  (counted in the stats, reported on stderr).

Shutdown:
  End of stdin, SIGTERM or SIGINT: everything is confirmed or, after --shutdown-timeout, left
  in the spool for the next start. Exit 0 if nothing was lost, 1 if records were lost
  (spool full or dropped), 2 for bad usage. SIGUSR1 prints the stats to stderr.

Logging:
  Warnings go to stderr, one line each; --verbose adds progress and a stats line every 5 s
  (read, published, confirmed, spooled, dropped, spool size, state); SIGUSR1 prints the
  stats at any time. WARREN_LOG_JSON=1 writes the same as pino JSON lines.

Examples:
  echo "disk failure" | logship --facility kern --severity crit
  myapp 2>&1 | logship --facility myapp
  node server.js | logship --facility api          # pino JSON lines: level and time are kept
  logship --file '/var/log/nginx/*.log' --facility nginx --severity notice
  logship --syslog udp://0.0.0.0:5514 --syslog tcp://0.0.0.0:5514
  logship --http 0.0.0.0:4318 --facility otel      # OTEL_EXPORTER_OTLP_ENDPOINT=http://host:4318
  WARREN_HTTP_TOKEN=s3cret logship --http 0.0.0.0:3100 --http-auth bearer   # Loki push, Promtail
  logship --file app.log --from-start --multiline '^\\s|^Caused by:' --spool /var/lib/warren/spool
`;

export function buildProgram(): Command {
  const program = new Command('logship')
    .description(
      'Ship log lines to RabbitMQ (Warren): stdin, followed files, syslog and HTTP (OTLP, Loki push, Elasticsearch bulk); batched, confirmed, spooled to disk while the broker is away.',
    )
    .option(
      '--facility <name>',
      `facility for records that carry none (a-z 0-9 _ -, e.g. kern, auth, myapp) (default: "${SHIPPER_DEFAULTS.facility}")`,
    )
    .option(
      '--severity <level>',
      `severity for records that carry none (emergency … debug, or an alias such as crit, warn)`,
      SHIPPER_DEFAULTS.severity,
    )
    .option(
      '--app <name>',
      'app name on records that carry none (default: the --facility given, else logship)',
    )
    .option('--host <name>', "host name on records (default: this machine's)")
    .option(
      '--stdin',
      'read stdin as well as --file/--syslog (it is the default input when neither is given)',
    )
    .option(
      '--file <path>',
      'follow a file like tail -F (repeatable; globs such as /var/log/*.log)',
      collect,
      [],
    )
    .option('--from-start', 'read followed files from their start the first time (default: from their end)')
    .option('--state-file <file>', 'where file positions are kept (default: <spool>/files.json)')
    .option(
      '--syslog <url>',
      'listen for syslog: udp://HOST:PORT or tcp://HOST:PORT (repeatable)',
      collect,
      [],
    )
    .option(
      '--http <[host:]port>',
      'receive OTLP/HTTP logs, Loki push and Elasticsearch _bulk on one port (host default 127.0.0.1)',
    )
    .option(
      '--http-max-body <bytes>',
      `largest request body, compressed or not (413 beyond) (default: "${DEFAULT_HTTP_MAX_BODY}")`,
    )
    .option(
      '--http-auth <schemes>',
      'auth the receiver requires: bearer, basic, bearer,basic or none (default: whichever of WARREN_HTTP_TOKEN, WARREN_HTTP_BASIC is set)',
    )
    .option('--no-json', 'do not read JSON lines; ship them as text')
    .option('--multiline <regex>', 'a line matching this joins the record before it')
    .option('--no-multiline', 'never join lines')
    .option(
      '--multiline-timeout <duration>',
      'how long a record waits for continuation lines',
      `${DEFAULT_MULTILINE_LINGER_MS}ms`,
    )
    .option(
      '--max-line <bytes>',
      'longest line kept whole; longer ones are cut and marked',
      String(DEFAULT_MAX_LINE_BYTES),
    )
    .option('--spool <dir>', `disk spool directory (default: ${defaultSpoolDir()})`)
    .option(
      '--spool-max <bytes>',
      'spool size cap (e.g. 500m, 2g)',
      formatSize(SHIPPER_DEFAULTS.spoolMaxBytes),
    )
    .option('--batch-records <n>', 'records per message at most', String(DEFAULT_BATCH_LIMITS.maxRecords))
    .option('--batch-bytes <bytes>', 'bytes per message at most', formatSize(DEFAULT_BATCH_LIMITS.maxBytes))
    .option(
      '--linger <duration>',
      'how long a batch waits to fill before it is sent',
      `${DEFAULT_BATCH_LIMITS.lingerMs}ms`,
    )
    .option('--window <n>', 'unconfirmed messages in flight at most', String(SHIPPER_DEFAULTS.window))
    .option(
      '--memory <bytes>',
      'batches held in memory before they go to the spool',
      formatSize(SHIPPER_DEFAULTS.memoryBytes),
    )
    .option(
      '--shutdown-timeout <duration>',
      'how long shutdown waits for confirms before leaving records in the spool',
      `${SHIPPER_DEFAULTS.shutdownTimeoutMs / 1000}s`,
    )
    .addOption(new Option('-v, --verbose', 'log progress and print the stats every 5 s'))
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run logship --help for usage)');
  addCommonOptions(program, { amqp: true });
  return program;
}

interface RawOptions {
  facility?: string;
  severity: string;
  app?: string;
  host?: string;
  stdin?: boolean;
  file: string[];
  fromStart?: boolean;
  stateFile?: string;
  syslog: string[];
  http?: string;
  httpMaxBody?: string;
  httpAuth?: string;
  json: boolean;
  multiline: string | boolean;
  multilineTimeout: string;
  maxLine: string;
  spool?: string;
  spoolMax: string;
  batchRecords: string;
  batchBytes: string;
  linger: string;
  window: string;
  memory: string;
  shutdownTimeout: string;
  verbose?: boolean;
  amqp?: string;
  exchange?: string;
}

function resolveAgentConfig(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const common = resolveCommonConfig({ amqp: raw.amqp, exchange: raw.exchange }, env);
  const facility = parseFacility(raw.facility ?? SHIPPER_DEFAULTS.facility);
  const severity = parseSeverity(raw.severity);
  const maxLineBytes = parseSize(raw.maxLine, '--max-line');
  const spoolDir = path.resolve(raw.spool ?? defaultSpoolDir(env));
  const multiline: MultilineOptions | undefined =
    raw.multiline === false
      ? undefined
      : {
          continuation: typeof raw.multiline === 'string' ? parseRegex(raw.multiline) : DEFAULT_CONTINUATION,
          maxChars: maxLineBytes * 4,
          lingerMs: parseDuration(raw.multilineTimeout),
        };
  const syslog = raw.syslog.map(parseSyslogUrl);
  if (raw.http === undefined && (raw.httpAuth !== undefined || raw.httpMaxBody !== undefined))
    throw new WarrenError(
      ErrorCodes.BAD_USAGE,
      `${raw.httpAuth !== undefined ? '--http-auth' : '--http-max-body'} applies to the HTTP receiver, which is off`,
      { hint: 'add --http [HOST:]PORT, e.g. --http 127.0.0.1:4318' },
    );
  const http: HttpInputSettings | undefined =
    raw.http === undefined
      ? undefined
      : Object.freeze({
          address: parseHttpAddress(raw.http),
          auth: Object.freeze(resolveHttpAuth(raw.httpAuth, env)),
          maxBodyBytes: parseSize(raw.httpMaxBody ?? DEFAULT_HTTP_MAX_BODY, '--http-max-body'),
        });
  return Object.freeze({
    amqpUrl: common.amqpUrl,
    exchange: common.exchange,
    facility,
    severity,
    app: raw.app ?? (raw.facility === undefined ? 'logship' : facility),
    host: raw.host ?? os.hostname(),
    stdin: raw.stdin === true || (raw.file.length === 0 && syslog.length === 0 && http === undefined),
    files: Object.freeze([...raw.file]),
    fromStart: raw.fromStart === true,
    stateFile: path.resolve(raw.stateFile ?? path.join(spoolDir, 'files.json')),
    syslog: Object.freeze(syslog),
    http,
    json: raw.json,
    multiline,
    maxLineBytes,
    spoolDir,
    spoolMaxBytes: parseSize(raw.spoolMax, '--spool-max'),
    batch: Object.freeze({
      maxRecords: parseCount(raw.batchRecords, '--batch-records'),
      maxBytes: parseSize(raw.batchBytes, '--batch-bytes'),
      lingerMs: parseDuration(raw.linger),
    }),
    window: parseCount(raw.window, '--window'),
    memoryBytes: parseSize(raw.memory, '--memory'),
    shutdownTimeoutMs: parseDuration(raw.shutdownTimeout),
    verbose: raw.verbose === true,
  });
}

/** Parses argv into a frozen config; usage errors throw (commander's or WarrenError code 2). */
export function parseAgentArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const program = buildProgram().exitOverride();
  program.parse([...argv], { from: 'user' });
  return resolveAgentConfig(program.opts<RawOptions>(), env);
}
