import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import {
  DEFAULT_EXCHANGE,
  ErrorCodes,
  WarrenError,
  errorMessage,
  isPermanentBrokerError,
  isWarrenError,
  sleep,
  topologyNames,
  type Severity,
} from '../protocol/index.js';
import { Batcher, DEFAULT_BATCH_LIMITS, type BatchLimits } from './batcher.js';
import { Delivery } from './delivery.js';
import { relieveBuffers } from './memory.js';
import { RecordEncoder } from './encoder.js';
import { acquireLane, type Lane } from './lane.js';
import { Publisher } from './publisher.js';
import type { ParsedRecord } from './record.js';
import { routingKeyCache } from './routing-keys.js';
import { Spool } from './spool.js';
import { createStats, type Stats } from './stats.js';

/** A shipper's configuration, validated at the edge (CLI flags, transport options) and frozen. */
export interface ShipperConfig {
  readonly amqpUrl: string;
  readonly exchange: string;
  /** Spool root; each running agent takes a lane below it. */
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
  readonly batch: Readonly<BatchLimits>;
  /** Unconfirmed messages on the channel at most. */
  readonly window: number;
  /** Sealed batches held in memory before they go to the spool. */
  readonly memoryBytes: number;
  readonly facility: string;
  readonly severity: Severity;
  readonly host: string;
  readonly app: string;
  readonly pid: number;
  /** Shutdown waits this long for confirms before leaving the rest in the spool. */
  readonly shutdownTimeoutMs: number;
  /** Start-up waits this long for the first connection before spooling. */
  readonly connectWaitMs: number;
  /** Shown by `rabbitmqctl list_connections` (default `logship@<host>:<lane id>`). */
  readonly connectionName?: string;
  readonly logger: Logger;
  readonly clock: () => number;
}

/** What a user decides about a shipper (logship's flags, the Node API's options); the rest is the process's own. */
const SETTING_KEYS = [
  'amqpUrl',
  'exchange',
  'spoolDir',
  'spoolMaxBytes',
  'batch',
  'window',
  'memoryBytes',
  'facility',
  'severity',
  'host',
  'app',
  'shutdownTimeoutMs',
] as const satisfies readonly (keyof ShipperConfig)[];

export type ShipperSettings = Pick<ShipperConfig, (typeof SETTING_KEYS)[number]>;

/** The shipper's part of a larger configuration (logship's), so it is not copied field by field. */
export function shipperSettingsOf(config: ShipperSettings): ShipperSettings {
  return Object.fromEntries(SETTING_KEYS.map((key) => [key, config[key]])) as ShipperSettings;
}

/** Default spool root: $XDG_STATE_HOME/warren/spool, else ~/.local/state/warren/spool. */
export function defaultSpoolDir(env: NodeJS.ProcessEnv = process.env): string {
  const state =
    env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== ''
      ? env.XDG_STATE_HOME
      : path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'warren', 'spool');
}

export const SHIPPER_DEFAULTS: Readonly<{
  exchange: string;
  spoolMaxBytes: number;
  batch: Readonly<BatchLimits>;
  window: number;
  memoryBytes: number;
  facility: string;
  severity: Severity;
  shutdownTimeoutMs: number;
  connectWaitMs: number;
}> = Object.freeze({
  exchange: DEFAULT_EXCHANGE,
  spoolMaxBytes: 1024 * 1024 * 1024,
  batch: DEFAULT_BATCH_LIMITS,
  window: 32,
  memoryBytes: 32 * 1024 * 1024,
  facility: 'user',
  severity: 'info',
  shutdownTimeoutMs: 10_000,
  connectWaitMs: 3_000,
});

export type ShipperOptions = Partial<ShipperConfig> & { amqpUrl: string };

export function resolveShipperConfig(options: ShipperOptions): ShipperConfig {
  return Object.freeze({
    exchange: SHIPPER_DEFAULTS.exchange,
    spoolDir: defaultSpoolDir(),
    spoolMaxBytes: SHIPPER_DEFAULTS.spoolMaxBytes,
    batch: SHIPPER_DEFAULTS.batch,
    window: SHIPPER_DEFAULTS.window,
    memoryBytes: SHIPPER_DEFAULTS.memoryBytes,
    facility: SHIPPER_DEFAULTS.facility,
    severity: SHIPPER_DEFAULTS.severity,
    host: os.hostname(),
    app: path.basename(process.argv[1] ?? 'node'),
    pid: process.pid,
    shutdownTimeoutMs: SHIPPER_DEFAULTS.shutdownTimeoutMs,
    connectWaitMs: SHIPPER_DEFAULTS.connectWaitMs,
    logger: pino({ level: 'silent' }),
    clock: Date.now,
    ...stripUndefined(options),
  });
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export interface CloseResult {
  /** Records that could be neither confirmed nor spooled (spool full at exit). */
  lost: number;
  /** Records a lossy input dropped during the run. */
  dropped: number;
  /** Bytes left in the spool for the next run. */
  spoolBytes: number;
}

/** How many sequence numbers each reservation in the lane's `seq` file covers. */
const SEQUENCE_BLOCK = 1_000_000;
/**
 * Buffer bytes the agent holds while the broker keeps up: open batches (2 MiB), the queue up to
 * where inputs pause, the window in flight and the reusable buffers (8 MiB together); --memory is
 * only reached by UDP bursts. Past them (or --memory) garbage is collected (CLI only).
 */
const BUFFER_HELD_BYTES = 12 * 1024 * 1024;
/** Spool writes are fsync'd at least this often, and the delivered position saved. */
const SPOOL_SYNC_MS = 100;

/**
 * The agent's core: stamps records (time, origin; their ids come from the message ids), batches
 * them per routing key, and hands batches to delivery (broker or spool). `log()` is synchronous
 * and cheap; inputs check `accepting` and wait for `onResume` when the spool is full.
 */
export class Shipper {
  readonly stats: Stats = createStats();
  private lane: Lane | undefined;
  private spool: Spool | undefined;
  private publisher: Publisher | undefined;
  private delivery: Delivery | undefined;
  private batcher: Batcher | undefined;
  private encoder: RecordEncoder | undefined;
  private seq = 0;
  private seqEnd = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly syncedListeners: (() => void)[] = [];
  private closed: Promise<CloseResult> | undefined;
  private hurried = false;
  private readonly routingKey = routingKeyCache();

  constructor(readonly config: ShipperConfig) {}

  /** Opens the spool and starts connecting; resolves once connected or after `connectWaitMs`. */
  async start(): Promise<void> {
    const { config } = this;
    const lane = spoolSetup(config.spoolDir, () => acquireLane(config.spoolDir, config.host));
    this.lane = lane;
    try {
      this.spool = spoolSetup(lane.dir, () => Spool.open(lane.dir, { maxBytes: config.spoolMaxBytes }));
      this.seq = spoolSetup(lane.dir, () => lane.reserveSequence(SEQUENCE_BLOCK));
    } catch (err) {
      lane.release();
      throw err;
    }
    this.seqEnd = this.seq + SEQUENCE_BLOCK;
    this.encoder = new RecordEncoder({ host: config.host, app: config.app, pid: config.pid }, config.clock);
    let firstOutcome: () => void = () => undefined;
    const outcome = new Promise<void>((resolve) => (firstOutcome = resolve));
    this.publisher = new Publisher(
      {
        url: config.amqpUrl,
        names: topologyNames(config.exchange),
        connectionName: config.connectionName ?? `logship@${config.host}:${lane.agentId.split(':')[1] ?? ''}`,
        appId: config.app,
        logger: config.logger,
      },
      {
        onConnect: () => {
          this.delivery?.onConnect();
          firstOutcome();
        },
        onDisconnect: () => {
          this.delivery?.onDisconnect();
          firstOutcome();
        },
        onDrain: () => this.delivery?.onDrain(),
      },
    );
    this.delivery = new Delivery(
      this.spool,
      this.publisher,
      {
        window: config.window,
        memoryBytes: config.memoryBytes,
        recycle: (batch) => this.batcher?.recycle(batch),
      },
      this.stats,
      config.logger,
    );
    this.batcher = new Batcher(
      config.batch,
      lane.agentId,
      (batch) => this.delivery!.accept(batch),
      () => this.delivery!.busy,
      // A window of confirmed bodies comes back at once; bounded by what memory may hold.
      Math.min(config.window * config.batch.maxBytes, config.memoryBytes),
    );
    if (!this.spool.isEmpty()) {
      config.logger.info(
        { spool: lane.dir, bytes: this.spool.usedBytes },
        'spool holds records from an earlier run; delivering them first',
      );
    }
    this.syncTimer = setInterval(() => this.syncSpool(), SPOOL_SYNC_MS);
    this.syncTimer.unref();
    await this.publisher.start();
    const abort = new AbortController();
    await Promise.race([outcome, sleep(config.connectWaitMs, abort.signal)]);
    abort.abort();
    const failure = this.publisher.lastFailure;
    if (!this.publisher.connected && failure !== undefined && isPermanentBrokerError(failure)) {
      // Spooling would only hide it: cron jobs and CI would believe their logs were shipped.
      await this.close();
      throw failure;
    }
    if (!this.publisher.connected) {
      this.stats.state = 'spooling';
      const why = failure?.message ?? `no connection to RabbitMQ within ${config.connectWaitMs} ms`;
      config.logger.warn(`${why}; spooling to disk (${lane.dir}) and retrying`);
    }
  }

  /** Ships one record (the hot path: no promise, no await). */
  log(record: ParsedRecord): void {
    const encoder = this.encoder;
    const batcher = this.batcher;
    if (encoder === undefined || batcher === undefined || this.closed !== undefined) {
      throw new Error('shipper is not running');
    }
    if (this.seq >= this.seqEnd) {
      this.seq = this.lane!.reserveSequence(SEQUENCE_BLOCK);
      this.seqEnd = this.seq + SEQUENCE_BLOCK;
    }
    const seq = this.seq++;
    const facility = record.facility ?? this.config.facility;
    const severity = record.severity ?? this.config.severity;
    this.stats.read++;
    batcher.add(this.routingKey(facility, severity), encoder.encode(record), seq);
  }

  /**
   * False while inputs that can wait must pause: the broker is connected and the memory queue is
   * full (back-pressure), or the spool is full.
   */
  get accepting(): boolean {
    return this.delivery?.accepting ?? true;
  }

  /** True while the spool is full: a lossy input (UDP) drops and calls dropped(). */
  get spoolFull(): boolean {
    return this.delivery?.spoolFull ?? false;
  }

  onResume(listener: () => void): void {
    this.delivery?.onResume(listener);
  }

  /** Told after each spool fsync (every SPOOL_SYNC_MS), when what was spooled or confirmed is safe. */
  onSynced(listener: () => void): void {
    this.syncedListeners.push(listener);
  }

  /** A lossy input could not hand over a record; counted and reported. */
  dropped(count = 1): void {
    if (this.stats.dropped === 0)
      this.config.logger.warn('spool is full: dropping UDP syslog records (counted in stats)');
    this.stats.dropped += count;
  }

  /** Bytes in the spool not yet delivered. */
  get spoolBytes(): number {
    return this.spool?.usedBytes ?? 0;
  }

  get laneDir(): string | undefined {
    return this.lane?.dir;
  }

  /**
   * Smallest record sequence that a crash now would lose (held in memory); every record
   * before it is confirmed or fsync'd in the spool. Undefined when nothing is at risk.
   */
  volatileFrom(): number | undefined {
    const a = this.batcher?.minOpenSeq();
    const b = this.delivery?.minVolatileSeq();
    const c = this.spool?.hasUnsynced() ? this.spool.firstUnsyncedSeq : undefined;
    let min: number | undefined;
    for (const v of [a, b, c]) if (v !== undefined && (min === undefined || v < min)) min = v;
    return min;
  }

  /** The next sequence number to be assigned (records logged so far are below it). */
  get nextSeq(): number {
    return this.seq;
  }

  /** Seals open batches now (e.g. before a test inspects the broker). */
  flush(): void {
    this.batcher?.flush();
  }

  /**
   * Waits until every record below sequence `end` is confirmed by the broker or fsync'd in the
   * spool (what an HTTP sender may be told is safe); true if they are. False once `timeoutMs`
   * passes, or as soon as the spool is full while some of them are not safe (they wait in memory
   * for room, which a broker that is away will not make soon: the sender is better told now).
   */
  async whenSafe(end: number, timeoutMs: number): Promise<boolean> {
    this.batcher?.flush();
    const deadline = this.config.clock() + timeoutMs;
    for (;;) {
      const volatile = this.volatileFrom();
      if (volatile === undefined || volatile >= end) return true;
      const left = deadline - this.config.clock();
      if (left <= 0 || this.delivery === undefined || this.spoolFull) return false;
      // Confirms wake it; a spool fsync (every SPOOL_SYNC_MS) is caught by the short sleep.
      const abort = new AbortController();
      await Promise.race([this.delivery.changed(), sleep(Math.min(left, 20), abort.signal)]);
      abort.abort();
    }
  }

  /** Waits until everything logged so far is confirmed (or `timeoutMs` passes); true if it is. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.batcher?.flush();
    const deadline = this.config.clock() + timeoutMs;
    const delivery = this.delivery;
    if (delivery === undefined) return true;
    while (!delivery.drained) {
      const left = deadline - this.config.clock();
      if (left <= 0 || this.hurried) return false;
      const abort = new AbortController();
      await Promise.race([delivery.changed(), sleep(Math.min(left, 200), abort.signal)]);
      abort.abort();
    }
    return true;
  }

  /** Stops waiting for confirms: close() puts what is unconfirmed in the spool at once. */
  hurry(): void {
    this.hurried = true;
  }

  /**
   * Flushes everything to the broker (confirmed) if connected, within the shutdown timeout;
   * what is left goes to the spool. Idempotent.
   */
  close(): Promise<CloseResult> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<CloseResult> {
    const { config } = this;
    this.batcher?.close();
    const delivery = this.delivery;
    if (delivery !== undefined && this.publisher?.connected === true) {
      this.stats.state = 'closing';
      await this.drain(config.shutdownTimeoutMs);
    }
    let lost = 0;
    if (delivery !== undefined) {
      delivery.persistMemory();
      delivery.retryOverflow();
      lost = delivery.overflowRecords;
    }
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    try {
      this.spool?.close();
    } catch (err) {
      config.logger.error({ err }, 'cannot write the spool');
      lost += this.stats.read - this.stats.confirmed;
    }
    await this.publisher?.close();
    this.lane?.release();
    this.stats.state = 'closed';
    return { lost, dropped: this.stats.dropped, spoolBytes: this.spool?.usedBytes ?? 0 };
  }

  private syncSpool(): void {
    const spool = this.spool;
    if (spool === undefined) return;
    const before = spool.writeError;
    spool.tryFlush();
    if (spool.writeError !== before) {
      if (spool.writeError === undefined)
        this.config.logger.warn({ spool: spool.dir }, 'spool writes work again');
      else this.config.logger.error({ spool: spool.dir }, `cannot write the spool: ${spool.writeError}`);
    }
    try {
      spool.saveCursor();
    } catch (err) {
      this.config.logger.warn({ err: errorMessage(err) }, 'cannot save the spool position');
    }
    this.delivery?.retryOverflow();
    for (const listener of this.syncedListeners) listener();
    relieveBuffers(Math.min(this.config.memoryBytes, BUFFER_HELD_BYTES));
  }
}

/** A spool that cannot be used is the operator's to fix: one line saying where and why. */
function spoolSetup<T>(dir: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    if (isWarrenError(err)) throw err;
    throw new WarrenError(
      ErrorCodes.BAD_USAGE,
      `cannot use the spool directory ${dir}: ${errorMessage(err)}`,
      {
        hint: 'pass --spool DIR with a directory this user can write',
        cause: err,
      },
    );
  }
}

export async function startShipper(options: ShipperOptions): Promise<Shipper> {
  const shipper = new Shipper(resolveShipperConfig(options));
  await shipper.start();
  return shipper;
}
