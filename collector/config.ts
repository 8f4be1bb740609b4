import { availableParallelism, hostname } from 'node:os';
import {
  ErrorCodes,
  WarrenError,
  parseDuration,
  parsePattern,
  parsePatterns,
  readWholeNumber,
  bindingsFor,
  isAmqpName,
  nonEmpty,
  resolveCommonConfig,
  topologyNames,
  type CommonFlags,
  type Pattern,
  type TopologyNames,
} from '../protocol/index.js';

/** Every default of `logcollect` in one place; `--help` prints these. */
export const COLLECTOR_DEFAULTS = Object.freeze({
  /** CONTRACT §5: everything. */
  bind: '#',
  db: './data/warren.db',
  listen: '127.0.0.1:8080',
  /** Records per transaction: large enough to amortise the commit, small enough to stay quick. */
  batchRecords: 5000,
  /** Messages per transaction, for one-record messages. */
  batchMessages: 1000,
  /** How long a partial batch may wait for more before it is committed anyway. */
  lingerMs: 50,
  /** Unacked messages the broker may send ahead: two batches, so one fills while the other commits. */
  prefetch: 2000,
  /** A message body larger than this is dead-lettered whole rather than decoded (RabbitMQ's own cap is 16 MiB). */
  maxMessageBytes: 8 * 1024 * 1024,
  /** Quorum queues: redeliveries before the broker dead-letters a message that keeps failing. */
  deliveryLimit: 20,
  /** How often queue depths are polled. */
  pollMs: 3000,
  /** How often retention looks for expired records. */
  retentionIntervalMs: 10_000,
  /** How often the WAL size is checked and, when over its bound, truncated. */
  checkpointIntervalMs: 30_000,
  /** A query's deadline: past it the API answers 504 and the reader running it is stopped. */
  queryTimeout: '30s',
  /**
   * Reader processes for pages and counts (the live streams have one more of their own): a core
   * is left to ingest, so 1 on two cores, up to 4.
   */
  queryWorkers: Math.max(1, Math.min(4, availableParallelism() - 1)),
  /** Queries that may wait for a free reader; one more is answered 503 with Retry-After. */
  queryQueue: 16,
});

/** A `--retention` pattern (selecting keys as the API does, `patternMatches`) and its age limit. */
export interface RetentionRule extends Pattern {
  /** Records older than this are deleted. */
  readonly maxAgeMs: number;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface CollectorConfig {
  readonly amqpUrl: string;
  readonly names: TopologyNames;
  /** The archive queue consumed. */
  readonly queue: string;
  readonly patterns: readonly Pattern[];
  /** Broker binding keys the patterns expand to. */
  readonly bindings: readonly string[];
  readonly quorum: boolean;
  readonly deliveryLimit: number;
  /** The SQLite file (the embedded store), used when `storeUrl` is null. */
  readonly dbPath: string;
  /** `--store postgres://...` (or WARREN_STORE): the PostgreSQL store several collectors share; null for SQLite. */
  readonly storeUrl: string | null;
  /** Where the HTTP API listens; null runs the collector without it (tests, embedding). */
  readonly listen: ListenAddress | null;
  readonly token: string | undefined;
  /** Host names the API answers besides its own (see http/hosts.ts). */
  readonly allowHosts: readonly string[];
  readonly retention: readonly RetentionRule[];
  readonly batchRecords: number;
  readonly batchMessages: number;
  readonly lingerMs: number;
  readonly prefetch: number;
  readonly maxMessageBytes: number;
  /** Shown by `rabbitmqctl list_connections`. */
  readonly connectionName: string;
  readonly pollMs: number;
  readonly retentionIntervalMs: number;
  readonly checkpointIntervalMs: number;
  /** Where the API's reads run and how long each may take (http/app.ts, store/read-pool.ts). */
  readonly reads: { readonly workers: number; readonly timeoutMs: number; readonly maxWaiting: number };
}

/** What the command line (or a test) gives; anything missing takes its default. */
export interface CollectorFlags extends CommonFlags {
  bind?: readonly string[] | undefined;
  queue?: string | undefined;
  db?: string | undefined;
  store?: string | undefined;
  listen?: string | false | undefined;
  allowHost?: readonly string[] | undefined;
  quorum?: boolean | undefined;
  deliveryLimit?: number | string | undefined;
  retention?: readonly string[] | undefined;
  batchRecords?: number | string | undefined;
  batchMessages?: number | string | undefined;
  lingerMs?: number | string | undefined;
  prefetch?: number | string | undefined;
  maxMessageBytes?: number | string | undefined;
  connectionName?: string | undefined;
  pollMs?: number | string | undefined;
  retentionIntervalMs?: number | string | undefined;
  checkpointIntervalMs?: number | string | undefined;
  queryTimeout?: string | undefined;
  queryWorkers?: number | string | undefined;
  queryQueue?: number | string | undefined;
}

function usage(message: string, hint: string): WarrenError {
  return new WarrenError(ErrorCodes.BAD_USAGE, message, { hint });
}

interface IntegerSetting {
  value: number | string | undefined;
  /** Taken when the value is not given; also the example in the complaint. */
  fallback: number;
  /** How the user names it (`--prefetch`), for the complaint. */
  flag: string;
  min: number;
  max: number;
}

function integer({ value, fallback, flag, min, max }: IntegerSetting): number {
  if (value === undefined) return fallback;
  const n = readWholeNumber(value, { min, max });
  if (n === undefined) {
    throw usage(
      `${flag} must be a whole number from ${min} to ${max}, got '${String(value)}'`,
      `e.g. ${flag} ${fallback}`,
    );
  }
  return n;
}

/** `HOST:PORT`, `:PORT` or `[::1]:PORT`. */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65535) {
    throw usage(
      `invalid --listen '${text}'`,
      'use HOST:PORT, e.g. --listen 127.0.0.1:8080 (port 0 picks a free one)',
    );
  }
  const host = match[1] ?? match[2] ?? '';
  return Object.freeze({ host: host === '' ? '127.0.0.1' : host, port });
}

/** `PATTERN=DURATION`, e.g. `*.debug=1d`; the pattern may be a severity range (`*.info-`is not one). */
export function parseRetentionRule(text: string): RetentionRule {
  const at = text.lastIndexOf('=');
  if (at <= 0 || at === text.length - 1) {
    throw usage(
      `invalid --retention '${text}'`,
      'use PATTERN=DURATION, e.g. --retention "*.debug=1d" --retention "#=30d"',
    );
  }
  const pattern = parsePattern(text.slice(0, at).trim());
  const maxAgeMs = parseDuration(text.slice(at + 1).trim());
  if (maxAgeMs <= 0) {
    throw usage(`--retention '${text}' keeps nothing`, 'give a positive duration, e.g. 1h, 7d');
  }
  return Object.freeze({ ...pattern, maxAgeMs });
}

/** Validates everything once, at the edge; below this nothing re-checks or reads the environment. */
export function resolveCollectorConfig(
  flags: CollectorFlags,
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  const common = resolveCommonConfig(flags, env);
  // Patterns first: an invalid one is reported before anything is bound (CONTRACT §3).
  const patterns = parsePatterns(
    flags.bind === undefined || flags.bind.length === 0 ? [COLLECTOR_DEFAULTS.bind] : flags.bind,
  );
  const retention = (flags.retention ?? []).map(parseRetentionRule);
  const names = topologyNames(common.exchange);
  const queue = flags.queue ?? names.archive;
  if (!isAmqpName(queue)) {
    throw usage(
      `invalid queue name '${queue}'`,
      "use letters, digits, '-', '_', '.' or ':' (not the reserved 'amq.' prefix)",
    );
  }
  const dbPath = flags.db ?? COLLECTOR_DEFAULTS.db;
  if (dbPath.trim() === '') throw usage('--db is empty', `give a file, e.g. --db ${COLLECTOR_DEFAULTS.db}`);
  const batchMessages = integer({
    value: flags.batchMessages,
    fallback: COLLECTOR_DEFAULTS.batchMessages,
    flag: '--batch-messages',
    min: 1,
    max: 100_000,
  });
  const prefetch = integer({
    value: flags.prefetch,
    fallback: COLLECTOR_DEFAULTS.prefetch,
    flag: '--prefetch',
    min: 1,
    max: 65_535,
  });
  if (prefetch < batchMessages) {
    throw usage(
      `--prefetch ${prefetch} is smaller than --batch-messages ${batchMessages}`,
      'a batch can only fill up to the prefetch; use a prefetch of about twice the batch',
    );
  }
  return Object.freeze({
    amqpUrl: common.amqpUrl,
    names,
    queue,
    patterns: Object.freeze(patterns),
    bindings: Object.freeze(bindingsFor(patterns)),
    quorum: flags.quorum === true,
    deliveryLimit: integer({
      value: flags.deliveryLimit,
      fallback: COLLECTOR_DEFAULTS.deliveryLimit,
      flag: '--delivery-limit',
      min: 1,
      max: 10_000,
    }),
    dbPath,
    // A --db on the command line wins over WARREN_STORE in the environment; --db with --store is refused.
    storeUrl: storeUrl(
      flags.store ?? (flags.db === undefined ? nonEmpty(env.WARREN_STORE) : undefined),
      flags.store === undefined ? undefined : flags.db,
    ),
    listen: flags.listen === false ? null : parseListen(flags.listen ?? COLLECTOR_DEFAULTS.listen),
    token: common.token,
    allowHosts: Object.freeze(
      [...(flags.allowHost ?? []), ...(env.WARREN_ALLOW_HOSTS ?? '').split(',')]
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name !== ''),
    ),
    retention: Object.freeze(retention),
    batchRecords: integer({
      value: flags.batchRecords,
      fallback: COLLECTOR_DEFAULTS.batchRecords,
      flag: '--batch-records',
      min: 1,
      max: 1_000_000,
    }),
    batchMessages,
    lingerMs: integer({
      value: flags.lingerMs,
      fallback: COLLECTOR_DEFAULTS.lingerMs,
      flag: '--linger-ms',
      min: 0,
      max: 60_000,
    }),
    prefetch,
    maxMessageBytes: integer({
      value: flags.maxMessageBytes,
      fallback: COLLECTOR_DEFAULTS.maxMessageBytes,
      flag: '--max-message-bytes',
      min: 1024,
      max: 512 * 1024 * 1024,
    }),
    connectionName: flags.connectionName ?? `logcollect@${hostname()}:${process.pid}`,
    pollMs: integer({
      value: flags.pollMs,
      fallback: COLLECTOR_DEFAULTS.pollMs,
      flag: '--poll-ms',
      min: 10,
      max: 3_600_000,
    }),
    retentionIntervalMs: integer({
      value: flags.retentionIntervalMs,
      fallback: COLLECTOR_DEFAULTS.retentionIntervalMs,
      flag: 'retention interval',
      min: 10,
      max: 86_400_000,
    }),
    checkpointIntervalMs: integer({
      value: flags.checkpointIntervalMs,
      fallback: COLLECTOR_DEFAULTS.checkpointIntervalMs,
      flag: 'checkpoint interval',
      min: 10,
      max: 86_400_000,
    }),
    reads: Object.freeze({
      workers: integer({
        value: flags.queryWorkers ?? env.WARREN_QUERY_WORKERS,
        fallback: COLLECTOR_DEFAULTS.queryWorkers,
        flag: '--query-workers',
        min: 0,
        max: 64,
      }),
      timeoutMs: queryTimeout(flags.queryTimeout ?? nonEmpty(env.WARREN_QUERY_TIMEOUT)),
      maxWaiting: integer({
        value: flags.queryQueue,
        fallback: COLLECTOR_DEFAULTS.queryQueue,
        flag: '--query-queue',
        min: 0,
        max: 10_000,
      }),
    }),
  });
}

/** Whether a store location names PostgreSQL (postgres:// or postgresql://) rather than a SQLite file. */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//.test(text.trim());
}

/** A PostgreSQL URL, checked here so a typo is a usage error, not a connection failure later. */
function storeUrl(text: string | undefined, db: string | undefined): string | null {
  if (text === undefined) return null;
  let url: URL | null;
  try {
    url = new URL(text.trim());
  } catch {
    url = null;
  }
  if (url === null || !isPostgresUrl(url.href) || url.hostname === '') {
    throw usage(
      `invalid --store '${redactUrl(text)}'`,
      'give a PostgreSQL URL, e.g. --store postgres://warren@127.0.0.1/warren (without --store the SQLite file of --db is used)',
    );
  }
  if (db !== undefined) {
    throw usage(
      '--db and --store both given',
      'pick one store: --db FILE (SQLite) or --store postgres://... (PostgreSQL)',
    );
  }
  return text.trim();
}

/** A URL as logs may show it: the password replaced. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function queryTimeout(text: string | undefined): number {
  const ms = parseDuration(text ?? COLLECTOR_DEFAULTS.queryTimeout);
  if (ms < 100 || ms > 3_600_000) {
    throw usage(
      `--query-timeout must be from 100ms to 1h, got '${String(text)}'`,
      `e.g. --query-timeout ${COLLECTOR_DEFAULTS.queryTimeout}`,
    );
  }
  return ms;
}
