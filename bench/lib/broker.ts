import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { DEFAULT_AMQP_URL, topologyNames } from '../../protocol/index.js';

const execFileAsync = promisify(execFile);

/** The broker every benchmark and chaos scenario uses (AMQP_URL, else the contract's default). */
export const AMQP_URL =
  process.env.AMQP_URL !== undefined && process.env.AMQP_URL !== '' ? process.env.AMQP_URL : DEFAULT_AMQP_URL;

/** A name no other run or helper uses, so runs can share the broker side by side. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function connect(name: string, url: string = AMQP_URL): Promise<ChannelModel> {
  return amqp.connect(url, { clientProperties: { connection_name: name, product: 'warren-proof' } });
}

/** Runs `work` on a fresh channel of a short-lived connection, closing both whatever happens. */
export async function withChannel<T>(name: string, work: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(name);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await work(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Messages ready in a queue (0 if it does not exist). */
export async function queueDepth(queue: string): Promise<number> {
  try {
    return await withChannel(
      'warren-proof-depth',
      async (channel) => (await channel.checkQueue(queue)).messageCount,
    );
  } catch {
    return 0;
  }
}

/**
 * Deletes everything a Warren installation with this exchange declared (the exchange, its
 * unrouted/archive/dead exchanges and queues) plus any extra queues; missing ones are fine.
 */
export async function deleteTopology(exchange: string, extraQueues: readonly string[] = []): Promise<void> {
  const names = topologyNames(exchange);
  const queues = [names.archive, names.unrouted, names.dead, ...extraQueues];
  const exchanges = [names.exchange, names.unrouted, names.dead];
  for (const queue of queues) {
    // Each delete on its own channel: deleting a missing queue is fine, but some brokers close the channel.
    await withChannel('warren-proof-cleanup', (channel) => channel.deleteQueue(queue)).catch(() => undefined);
  }
  for (const exchangeName of exchanges) {
    await withChannel('warren-proof-cleanup', (channel) => channel.deleteExchange(exchangeName)).catch(
      () => undefined,
    );
  }
}

/** `rabbitmqctl` with its output; throws with stderr on failure. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('rabbitmqctl', args, { timeout: 120_000 });
  return stdout;
}

/** Connects until the broker answers, or throws after `timeoutMs`. */
export async function waitForBroker(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await connect('warren-proof-probe');
      await connection.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Puts the broker back whatever a scenario did to it: start_app if the app is stopped, and the
 * whole server if the node is down. Every fault that touches the broker ends here, in a finally.
 */
export async function ensureBrokerRunning(): Promise<void> {
  try {
    await rabbitmqctl('start_app');
  } catch {
    await execFileAsync('rabbitmq-server', ['-detached']).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await rabbitmqctl('start_app').catch(() => undefined);
  }
  await waitForBroker(120_000);
}

/** A durable topic exchange and a durable classic queue of the same name, bound to every key. */
export async function declareBenchQueue(channel: Channel, name: string): Promise<void> {
  await channel.assertExchange(name, 'topic', { durable: true });
  await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'classic' } });
  await channel.bindQueue(name, name, '#');
}

export async function deleteBenchQueue(channel: Channel, name: string): Promise<void> {
  await channel.deleteQueue(name);
  await channel.deleteExchange(name);
}
