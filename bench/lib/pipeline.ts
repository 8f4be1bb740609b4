import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { isPostgresUrl } from '../../collector/config.js';
import { topologyNames } from '../../protocol/index.js';
import { AMQP_URL, withChannel } from '../../testkit/broker.js';
import { type Child, startBin, type StartOptions } from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/wait.js';
import { openReader } from './store.js';

/**
 * The real components as a user runs them (child processes of the compiled CLIs), with the
 * knobs the benchmarks and chaos scenarios need. Each gets its own exchange and store.
 */
/** Tuning experiments without editing code: WARREN_BENCH_COLLECTOR_ARGS='--prefetch 4000' and WARREN_BENCH_AGENT_ARGS. */
function extraArgs(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter((arg) => arg !== '');
}

export interface CollectorOptions {
  exchange: string;
  /** The SQLite file, or a PostgreSQL URL (`--store`) when it starts with postgres://. */
  db: string;
  port: number;
  amqpUrl?: string;
  args?: string[];
  start?: StartOptions;
}

export function startCollector(options: CollectorOptions): Child {
  return startBin(
    'logcollect',
    [
      '--amqp',
      options.amqpUrl ?? AMQP_URL,
      '--exchange',
      options.exchange,
      isPostgresUrl(options.db) ? '--store' : '--db',
      options.db,
      '--listen',
      `127.0.0.1:${options.port}`,
      ...extraArgs('WARREN_BENCH_COLLECTOR_ARGS'),
      ...(options.args ?? []),
    ],
    // WARREN_BENCH_COLLECTOR_NODE_ARGS='--trace-gc' etc.: node flags for logcollect, for memory experiments.
    { stdin: 'ignore', nodeArgs: extraArgs('WARREN_BENCH_COLLECTOR_NODE_ARGS'), ...options.start },
  );
}

export interface AgentOptions {
  exchange: string;
  spool: string;
  amqpUrl?: string;
  facility?: string;
  severity?: string;
  args?: string[];
  start?: StartOptions;
}

export function startAgent(options: AgentOptions): Child {
  return startBin(
    'logship',
    [
      '--amqp',
      options.amqpUrl ?? AMQP_URL,
      '--exchange',
      options.exchange,
      '--spool',
      options.spool,
      '--facility',
      options.facility ?? 'bench',
      '--severity',
      options.severity ?? 'info',
      ...extraArgs('WARREN_BENCH_AGENT_ARGS'),
      ...(options.args ?? []),
    ],
    // WARREN_BENCH_AGENT_NODE_ARGS='--trace-gc' etc.: node flags for logship, for memory experiments.
    { stdout: 'ignore', nodeArgs: extraArgs('WARREN_BENCH_AGENT_NODE_ARGS'), ...options.start },
  );
}

/** Consumers on the collector's archive queue (0 if the queue is not there yet). */
export async function archiveConsumers(
  exchange: string,
  queue = topologyNames(exchange).archive,
  url = AMQP_URL,
): Promise<number> {
  try {
    return await withChannel(
      'warren-proof-probe',
      async (channel) => (await channel.checkQueue(queue)).consumerCount,
      url,
    );
  } catch {
    return 0;
  }
}

/** Waits until the collector consumes its queue; fails early with its stderr if it died. */
export async function waitCollectorReady(
  collector: Child,
  exchange: string,
  timeoutMs = 30_000,
  url = AMQP_URL,
): Promise<void> {
  await waitUntil(
    'logcollect to consume its queue',
    async () => {
      if (collector.hasExited()) {
        throw new Error(`logcollect exited (${String(await collector.exited)}): ${collector.stderrTail()}`);
      }
      return (await archiveConsumers(exchange, undefined, url)) > 0;
    },
    timeoutMs,
    100,
  );
}

/** Reads a store the collector writes, from outside (as the HTTP API would). */
export class StoreReader {
  private db: Database.Database | null = null;
  constructor(readonly file: string) {}

  private open(): Database.Database | null {
    if (this.db === null && existsSync(this.file)) {
      try {
        this.db = openReader(this.file);
      } catch {
        this.db = null;
      }
    }
    return this.db;
  }

  /** Rows committed so far (0 before the store exists or while it is being created). */
  count(): number {
    const db = this.open();
    if (db === null) return 0;
    try {
      return (db.prepare('SELECT count(*) FROM records').pluck().get() as number | undefined) ?? 0;
    } catch {
      return 0;
    }
  }

  /** Highest seq committed: O(1), for fast polling while ingest runs. */
  maxSeq(): number {
    const db = this.open();
    if (db === null) return 0;
    try {
      return (
        (db.prepare('SELECT coalesce(max(seq), 0) FROM records').pluck().get() as number | undefined) ?? 0
      );
    } catch {
      return 0;
    }
  }

  /** Rows after `seq`, oldest first. */
  after(seq: number, limit = 10_000): { seq: number; msg: string }[] {
    const db = this.open();
    if (db === null) return [];
    try {
      return db
        .prepare('SELECT seq, msg FROM records WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(seq, limit) as { seq: number; msg: string }[];
    } catch {
      return [];
    }
  }

  /** Every message text stored, for reconciliation. */
  allMessages(): string[] {
    const db = this.open();
    if (db === null) return [];
    return db.prepare('SELECT msg FROM records').pluck().all() as string[];
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}

/** Waits until a started collector's HTTP API answers /healthz (or says why it exited). */
export async function waitApiUp(collector: Child, base: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    'the HTTP API',
    async () => {
      if (collector.hasExited()) throw new Error(`logcollect exited: ${collector.stderrTail()}`);
      try {
        return (await fetch(`${base}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    timeoutMs,
    100,
  );
}
