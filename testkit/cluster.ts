/**
 * The local RabbitMQ cluster (scripts/rabbitmq-cluster.sh) for cluster tests, chaos and the
 * bench: its own nodes, ports and cookie, never the machine's broker on 5672.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './processes.js';

const execFileAsync = promisify(execFile);

function script(): string {
  return path.join(repoRoot(), 'scripts', 'rabbitmq-cluster.sh');
}

async function cluster(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('bash', [script(), ...args], { timeout: 180_000 });
  return stdout.trim();
}

/** Starts the cluster (idempotent) and returns its nodes' AMQP URLs, comma-separated. */
export async function startCluster(): Promise<string> {
  await cluster('start');
  return cluster('urls');
}

/** Stops every node and deletes the cluster's data. */
export async function removeCluster(): Promise<void> {
  await cluster('reset');
}

/** SIGKILLs node `n` (1-based), as a crash would. */
export async function killNode(n: number): Promise<void> {
  await cluster('kill', String(n));
}

/** Starts node `n` again; it rejoins the cluster. */
export async function startNode(n: number): Promise<void> {
  await cluster('start-node', String(n));
}

/** rabbitmqctl against node `n`. */
export async function clusterCtl(n: number, ...args: string[]): Promise<string> {
  return cluster('ctl', String(n), ...args);
}

/** The node number (1-based) whose member leads quorum queue `queue`, asked of node `via`. */
export async function quorumLeader(queue: string, via = 1): Promise<number> {
  const listing = await clusterCtl(via, '-q', '--no-table-headers', 'list_queues', 'name', 'leader');
  for (const line of listing.split('\n')) {
    const [name, leader] = line.trim().split(/\s+/);
    const match = name === queue ? /^warren-c(\d+)@/.exec(leader ?? '') : null;
    if (match !== null) return Number(match[1]);
  }
  throw new Error(`no quorum leader found for ${queue}`);
}
