import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { topologyNames } from '../../protocol/index.js';
import { AMQP_URL, deleteTopology, queueDepth, rabbitmqctl, uniqueName } from '../../testkit/broker.js';
import { freePort } from '../../testkit/net.js';
import { type Child, writeAll } from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/wait.js';
import { StoreReader, startAgent, startCollector, waitCollectorReady } from '../../bench/lib/pipeline.js';
import { PgStoreReader } from './pg-reader.js';
import { filler, rng } from '../../bench/lib/records.js';
import { TcpProxy } from '../../testkit/net.js';
import { IdlessPublisher } from './idless-publisher.js';

/** What a scenario found when it reconciled the store against what it sent. */
export interface ScenarioResult {
  name: string;
  sent: number;
  stored: number;
  lost: number;
  duplicated: number;
  /** Anything else the scenario checked that failed (e.g. a poison message missing from .dead). */
  problems: string[];
}

export function formatResult(result: ScenarioResult): string {
  return `scenario=${result.name} sent=${result.sent} stored=${result.stored} lost=${result.lost} duplicated=${result.duplicated}`;
}

interface AgentSlot {
  id: string;
  child: Child | null;
  /** Next sequence number of this agent: every record carries `<run>/<agent>/<seq>`. */
  seq: number;
  /** Set when the agent follows a file instead of reading stdin. */
  file?: string;
  spool: string;
  viaProxy: boolean;
  /** Set for a foreign id-less publisher instead of a logship child. */
  publisher?: IdlessPublisher;
}

const TAG = /^chaos=(\S+)/;
const broker = new URL(AMQP_URL);

/**
 * One scenario's pipeline: real `logcollect` and `logship` child processes on an exchange and a
 * store of their own, the agents behind a TCP proxy the scenario can cut, and a ledger of every
 * record written so the store can be reconciled against it.
 */
export interface RigOptions {
  dbDir?: string;
  amqpUrl?: string;
  /** A PostgreSQL store instead of the rig's SQLite file. */
  storeUrl?: string;
}

export class Rig {
  readonly exchange: string;
  readonly dir: string;
  readonly proxy: TcpProxy;
  collector: Child | null = null;
  private readonly agents = new Map<string, AgentSlot>();
  private readonly run: string;
  private readonly random = rng(99);
  /** Every tag sent, in order. */
  readonly sent: string[] = [];
  private reader: StoreReader | PgStoreReader;
  collectorPort = 0;
  readonly db: string;
  /** Everything the collectors said on stderr, across restarts. */
  collectorLog = '';

  /** The broker (or a cluster's comma-separated addresses) the rig's processes use directly. */
  readonly amqpUrl: string;

  constructor(
    readonly name: string,
    options: RigOptions = {},
  ) {
    this.amqpUrl = options.amqpUrl ?? AMQP_URL;
    this.exchange = uniqueName(`chaos-${name}`);
    this.run = this.exchange.slice(-6);
    this.dir = mkdtempSync(path.join(os.tmpdir(), `warren-chaos-${name}-`));
    // A PostgreSQL store's URL stands where the SQLite file would (the collector gets --store).
    this.db = options.storeUrl ?? path.join(options.dbDir ?? this.dir, 'warren.db');
    this.reader =
      options.storeUrl === undefined ? new StoreReader(this.db) : new PgStoreReader(options.storeUrl);
    this.proxy = new TcpProxy(broker.hostname, Number(broker.port === '' ? 5672 : broker.port));
  }

  /** The broker URL through the proxy. */
  proxiedUrl(): string {
    const url = new URL(AMQP_URL);
    url.hostname = '127.0.0.1';
    url.port = String(this.proxy.port);
    return url.toString();
  }

  async start(): Promise<void> {
    await this.proxy.start();
    this.collectorPort = await freePort();
  }

  /** Starts (or restarts) the collector on the rig's store, and waits until it consumes. */
  async startCollector(options: { viaProxy?: boolean; args?: string[] } = {}): Promise<Child> {
    const collector = startCollector({
      exchange: this.exchange,
      db: this.db,
      port: this.collectorPort,
      amqpUrl: options.viaProxy === true ? this.proxiedUrl() : this.amqpUrl,
      args: ['--connection-name', `chaos-${this.name}-collector`, ...(options.args ?? [])],
    });
    this.collector = collector;
    collector.process.stderr?.on('data', (chunk: Buffer | string) => {
      this.collectorLog += chunk.toString();
      if (this.collectorLog.length > 1_000_000) this.collectorLog = this.collectorLog.slice(-500_000);
    });
    await waitCollectorReady(collector, this.exchange, 60_000, this.amqpUrl);
    return collector;
  }

  async killCollector(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const collector = this.collector;
    if (collector === null) return;
    collector.kill(signal);
    await collector.exited;
    this.collector = null;
  }

  /** Starts (or restarts, keeping its id, sequence and spool) agent `id`, reading stdin or following `file`. */
  startAgent(
    id: string,
    options: { viaProxy?: boolean; file?: boolean; facility?: string; args?: string[] } = {},
  ): Child {
    let slot = this.agents.get(id);
    if (slot === undefined) {
      slot = {
        id,
        child: null,
        seq: 0,
        spool: path.join(this.dir, `spool-${id}`),
        viaProxy: options.viaProxy ?? true,
      };
      if (options.file === true) slot.file = path.join(this.dir, `${id}.log`);
      if (slot.file !== undefined) appendFileSync(slot.file, '');
      this.agents.set(id, slot);
    }
    const args = [...(options.args ?? [])];
    if (slot.file !== undefined) args.push('--file', slot.file, '--from-start');
    slot.child = startAgent({
      exchange: this.exchange,
      spool: slot.spool,
      amqpUrl: slot.viaProxy ? this.proxiedUrl() : this.amqpUrl,
      facility: options.facility ?? 'chaos',
      args,
      start: { stdin: slot.file === undefined ? 'pipe' : 'ignore' },
    });
    return slot.child;
  }

  /** Adds source `id`: a foreign publisher of id-less text messages (see IdlessPublisher), straight to the broker. */
  startIdlessPublisher(id: string): void {
    this.agents.set(id, {
      id,
      child: null,
      seq: 0,
      spool: path.join(this.dir, `spool-${id}`),
      viaProxy: false,
      publisher: new IdlessPublisher(`chaos-${this.name}-${id}`, this.exchange, 'chaos.info', this.amqpUrl),
    });
  }

  agent(id: string): AgentSlot {
    const slot = this.agents.get(id);
    if (slot === undefined) throw new Error(`no agent ${id}`);
    return slot;
  }

  /** Bytes in an agent's spool directory (all files below it). */
  spoolBytes(id: string): number {
    const walk = (dir: string): number => {
      let total = 0;
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return 0;
      }
      for (const entry of entries) {
        const full = path.join(dir, entry);
        const stat = statSync(full, { throwIfNoEntry: false });
        if (stat === undefined) continue;
        total += stat.isDirectory() ? walk(full) : stat.size;
      }
      return total;
    };
    return walk(this.agent(id).spool);
  }

  /** Writes `count` new records to agent `id` (its stdin or its file), each with a unique tag. */
  async send(id: string, count: number): Promise<void> {
    const slot = this.agent(id);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const tag = `${this.run}/${id}/${slot.seq++}`;
      this.sent.push(tag);
      lines.push(filler(`chaos=${tag} `, 160, this.random));
    }
    if (slot.publisher !== undefined) {
      await slot.publisher.publish(lines);
      return;
    }
    const chunk = lines.map((line) => `${line}\n`).join('');
    if (slot.file !== undefined) {
      appendFileSync(slot.file, chunk);
      return;
    }
    const stdin = slot.child?.process.stdin;
    if (stdin === null || stdin === undefined) throw new Error(`agent ${id} has no stdin`);
    await writeAll(stdin, chunk);
  }

  /**
   * Sends `total` records to agent `id` at about `perSecond`, in 10 chunks a second, calling
   * `during(sentSoFar)` between chunks so a scenario can inject its fault mid-stream.
   */
  async stream(
    id: string,
    total: number,
    perSecond: number,
    during?: (sent: number) => Promise<void> | void,
  ): Promise<void> {
    const perTick = Math.max(1, Math.round(perSecond / 10));
    const started = Date.now();
    for (let sent = 0; sent < total; sent += perTick) {
      const wait = started + (sent / perTick) * 100 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.send(id, Math.min(perTick, total - sent));
      if (during !== undefined) await during(sent + perTick);
    }
  }

  /** Every stored message text. */
  storedMessages(): string[] {
    return this.reader.allMessages();
  }

  /** Stored rows (any, including duplicates). */
  storedRows(): number {
    return this.reader.count();
  }

  /** Waits until the store holds at least as many rows as were sent, or `timeoutMs`. */
  async waitAllStored(timeoutMs: number, extra = 0): Promise<boolean> {
    try {
      await waitUntil(
        'every record stored',
        () => this.reader.count() >= this.sent.length + extra,
        timeoutMs,
        200,
      );
      return true;
    } catch {
      return false;
    }
  }

  /** Ends each agent's input and waits for it to exit (it exits once all it read is confirmed or spooled). */
  async finishAgents(timeoutMs = 60_000): Promise<void> {
    for (const slot of this.agents.values()) {
      await slot.publisher?.close();
      const child = slot.child;
      if (child === null) continue;
      if (slot.file === undefined) child.process.stdin?.end();
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await child.exited;
      clearTimeout(timer);
    }
  }

  /**
   * Counts, per tag sent, how many rows the store holds (plus `heldElsewhere`, the texts of records
   * a scenario found in a queue, e.g. `.unrouted`): lost = none, duplicated = copies beyond one.
   */
  reconcile(problems: string[] = [], extraSent: string[] = [], heldElsewhere: string[] = []): ScenarioResult {
    const counts = new Map<string, number>();
    for (const tag of [...this.sent, ...extraSent]) counts.set(tag, 0);
    for (const msg of [...this.reader.allMessages(), ...heldElsewhere]) {
      const tag = TAG.exec(msg)?.[1];
      if (tag === undefined) continue;
      const seen = counts.get(tag);
      if (seen !== undefined) counts.set(tag, seen + 1);
    }
    let stored = 0;
    let lost = 0;
    let duplicated = 0;
    for (const seen of counts.values()) {
      if (seen === 0) lost++;
      else stored++;
      if (seen > 1) duplicated += seen - 1;
    }
    return { name: this.name, sent: counts.size, stored, lost, duplicated, problems };
  }

  /** Where records are when some are missing: queues, spools, and what the processes said last. */
  async diagnose(): Promise<string[]> {
    const names = topologyNames(this.exchange);
    const lines = [
      `queues: ${names.archive}=${await queueDepth(names.archive, this.amqpUrl)} ${names.unrouted}=${await queueDepth(names.unrouted, this.amqpUrl)} ${names.dead}=${await queueDepth(names.dead, this.amqpUrl)}; rows stored ${this.storedRows()}`,
    ];
    for (const slot of this.agents.values()) {
      const state =
        slot.child === null
          ? 'not started'
          : slot.child.hasExited()
            ? `exited ${String(await slot.child.exited)}`
            : 'running';
      lines.push(
        `agent ${slot.id} (${state}), spool ${this.spoolBytes(slot.id)} bytes, stderr tail:\n${slot.child?.stderrTail() ?? ''}`,
      );
    }
    lines.push(`collector stderr tail:\n${this.collectorLog.split('\n').slice(-12).join('\n')}`);
    return lines;
  }

  async archiveDepth(): Promise<number> {
    return queueDepth(topologyNames(this.exchange).archive, this.amqpUrl);
  }

  /** Closes (broker side) the AMQP connections that go through this rig's proxy. */
  async closeOwnConnections(reason = 'chaos'): Promise<number> {
    const ports = new Set(this.proxy.upstreamPorts());
    const listing = await rabbitmqctl('list_connections', '-q', '--no-table-headers', 'pid', 'peer_port');
    let closed = 0;
    for (const line of listing.split('\n')) {
      const [pid, port] = line.trim().split(/\s+/);
      if (pid === undefined || port === undefined || !ports.has(Number(port))) continue;
      await rabbitmqctl('close_connection', pid, reason).catch(() => undefined);
      closed++;
    }
    return closed;
  }

  async cleanup(): Promise<void> {
    for (const slot of this.agents.values()) {
      await slot.publisher?.close();
      if (slot.child !== null && !slot.child.hasExited()) {
        slot.child.kill('SIGKILL');
        await slot.child.exited;
      }
    }
    if (this.collector !== null) await this.collector.stop(10_000);
    this.reader.close();
    await this.proxy.close();
    await deleteTopology(this.exchange, [], this.amqpUrl);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
