import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { Logger } from 'pino';
import {
  facilityFromName,
  parseFacility,
  parseSeverity,
  resolveCommonConfig,
  type Severity,
} from '../protocol/index.js';
import type { ParsedRecord } from './record.js';
import { SHIPPER_DEFAULTS, Shipper, resolveShipperConfig, type CloseResult } from './shipper.js';
import type { Stats } from './stats.js';

/** An application's exit waits less than logship's for confirms: what is left is spooled for the next start. */
const APP_SHUTDOWN_TIMEOUT_MS = 8000;

/** Options of the Node API and the pino transport, named like logship's flags (CONTRACT §5). */
export interface AppShipperOptions {
  /** RabbitMQ URL (default: AMQP_URL, else amqp://guest:guest@127.0.0.1:5672). */
  amqp?: string;
  /** Topic exchange (default: WARREN_EXCHANGE, else logs). */
  exchange?: string;
  /** Facility of records that carry none (default: the application's name). */
  facility?: string;
  /** Severity of records that carry none (default: info). */
  severity?: string;
  /** Spool directory (default: $XDG_STATE_HOME/warren/spool). */
  spool?: string;
  /** App name on records (default: the application's name). */
  app?: string;
  host?: string;
  /** How long close() waits for confirms before leaving records in the spool (ms, default 8000). */
  shutdownTimeoutMs?: number;
  logger?: Logger;
}

export interface AppShipper {
  /** Ships one record; synchronous and cheap (batched, confirmed in the background). */
  log(severity: string, msg: string, fields?: Record<string, unknown>): void;
  /** Ships a parsed record (what the pino transport uses). */
  ship(record: ParsedRecord): void;
  /** False while the spool is full; wait for `onResume` before more. */
  readonly accepting: boolean;
  onResume(listener: () => void): void;
  /** Waits until everything so far is confirmed; false if `timeoutMs` passed first. */
  drain(timeoutMs?: number): Promise<boolean>;
  readonly stats: Readonly<Stats>;
  /** Flushes to the broker (or the spool) and disconnects. */
  close(): Promise<CloseResult>;
}

/**
 * The running application's name: package.json `name` in the working directory, else the script's
 * (not in a worker thread such as pino's transport, where the script is the worker's own).
 */
export function applicationName(
  cwd: string = process.cwd(),
  argv1: string | undefined = isMainThread ? process.argv[1] : undefined,
): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { name?: unknown };
    if (typeof pkg.name === 'string' && pkg.name !== '') return pkg.name;
  } catch {
    // no package.json: fall back to the script name
  }
  return argv1 === undefined ? 'app' : path.basename(argv1).replace(/\.[cm]?[jt]s$/, '');
}

/** Validates the options once (bad facility or severity throw a WarrenError) and starts shipping. */
export async function createShipper(options: AppShipperOptions = {}): Promise<AppShipper> {
  const common = resolveCommonConfig({ amqp: options.amqp, exchange: options.exchange });
  const name = applicationName();
  const facility = options.facility === undefined ? facilityFromName(name) : parseFacility(options.facility);
  const defaultSeverity = parseSeverity(options.severity ?? SHIPPER_DEFAULTS.severity);
  const shipper = new Shipper(
    resolveShipperConfig({
      amqpUrl: common.amqpUrl,
      exchange: common.exchange,
      spoolDir: options.spool === undefined ? undefined : path.resolve(options.spool),
      facility,
      severity: defaultSeverity,
      app: options.app ?? name,
      host: options.host,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? APP_SHUTDOWN_TIMEOUT_MS,
      logger: options.logger,
    }),
  );
  await shipper.start();
  return {
    log(severity: string, msg: string, fields?: Record<string, unknown>): void {
      const record: ParsedRecord = { msg, severity: toSeverity(severity, defaultSeverity) };
      if (fields !== undefined && Object.keys(fields).length > 0) record.fields = fields;
      shipper.log(record);
    },
    ship: (record) => shipper.log(record),
    get accepting() {
      return shipper.accepting;
    },
    onResume: (listener) => shipper.onResume(listener),
    drain: (timeoutMs = 10_000) => shipper.drain(timeoutMs),
    stats: shipper.stats,
    close: () => shipper.close(),
  };
}

/** An unknown severity name is not worth losing the record over: it takes the default. */
function toSeverity(input: string, fallback: Severity): Severity {
  try {
    return parseSeverity(input);
  } catch {
    return fallback;
  }
}
