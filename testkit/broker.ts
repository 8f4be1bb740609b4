/**
 * The broker side of the one test toolkit (tests, bench and chaos alike): which broker, unique
 * names, connections, publishing, queue depths, force-closing a connection, cleaning up a Warren
 * topology, and putting the broker back after a fault.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp, { type Channel, type ChannelModel, type Options } from 'amqplib';
import { brokerAddresses, DEFAULT_AMQP_URL, sleep, topologyNames } from '../protocol/index.js';

const execFileAsync = promisify(execFile);

/** The broker every test, benchmark and chaos scenario uses (AMQP_URL, else the contract's default). */
export const AMQP_URL =
  process.env.AMQP_URL !== undefined && process.env.AMQP_URL !== '' ? process.env.AMQP_URL : DEFAULT_AMQP_URL;

/** A name no other test, run or helper uses (e.g. `test-proto-mh3k2a-3fa9c1`), so runs share the broker. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A connection named `name` (rabbitmqctl and the management UI show it; closeNamedConnection finds it). */
export async function openConnection(name: string, url: string = AMQP_URL): Promise<ChannelModel> {
  // A cluster's comma-separated addresses: the first node that answers.
  const addresses = brokerAddresses(url);
  for (const [index, address] of addresses.entries()) {
    try {
      return await amqp.connect(address, {
        clientProperties: { connection_name: name, product: 'warren-proof' },
      });
    } catch (err) {
      if (index === addresses.length - 1) throw err;
    }
  }
  throw new Error(`no broker address in '${url}'`);
}

/** Runs `work` on a fresh channel of a short-lived connection, closing both whatever happens. */
export async function withChannel<T>(
  name: string,
  work: (channel: Channel) => Promise<T>,
  url: string = AMQP_URL,
): Promise<T> {
  const connection = await openConnection(name, url);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await work(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** One message to publish: its routing key, body and AMQP properties. */
export interface Published {
  key: string;
  body: Buffer | string;
  options?: Options.Publish;
}

/** Publishes persistent messages on a confirm channel and waits for the broker's confirms. */
export async function publish(
  connection: ChannelModel,
  exchange: string,
  messages: readonly Published[],
): Promise<void> {
  const channel = await connection.createConfirmChannel();
  try {
    for (const message of messages) {
      const body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
      const ok = channel.publish(exchange, message.key, body, { persistent: true, ...message.options });
      if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
    }
    await channel.waitForConfirms();
  } finally {
    await channel.close();
  }
}

/** Messages ready in a queue (0 if it does not exist). */
export async function queueDepth(queue: string, url: string = AMQP_URL): Promise<number> {
  try {
    return await withChannel(
      'warren-proof-depth',
      async (channel) => (await channel.checkQueue(queue)).messageCount,
      url,
    );
  } catch {
    return 0;
  }
}

/**
 * Deletes everything a Warren installation with this exchange declared (the exchange, its
 * unrouted/archive/dead exchanges and queues) plus any extra queues; missing ones are fine.
 */
export async function deleteTopology(
  exchange: string,
  extraQueues: readonly string[] = [],
  url: string = AMQP_URL,
): Promise<void> {
  const names = topologyNames(exchange);
  const queues = [names.archive, names.unrouted, names.dead, ...extraQueues];
  const exchanges = [names.exchange, names.collect, names.unrouted, names.dead];
  for (const queue of queues) {
    // Each delete on its own channel: deleting a missing queue is fine, but some brokers close the channel.
    await withChannel('warren-proof-cleanup', (channel) => channel.deleteQueue(queue), url).catch(
      () => undefined,
    );
  }
  for (const exchangeName of exchanges) {
    await withChannel('warren-proof-cleanup', (channel) => channel.deleteExchange(exchangeName), url).catch(
      () => undefined,
    );
  }
}

/** `rabbitmqctl` with its output; throws with stderr on failure. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('rabbitmqctl', args, { timeout: 120_000 });
  return stdout;
}

/**
 * Force-closes the broker connection(s) named `name` (what an operator or a network blip does),
 * never anybody else's; returns how many it closed.
 */
export async function closeNamedConnection(name: string): Promise<number> {
  const listing = await rabbitmqctl('-q', 'list_connections', 'pid', 'client_properties');
  const pids = listing
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0] ?? '')
    .filter((pid) => pid !== '');
  for (const pid of pids) await rabbitmqctl('-q', 'close_connection', pid, 'warren test: connection closed');
  return pids.length;
}

/** Connects until the broker answers, or throws after `timeoutMs`. */
export async function waitForBroker(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await openConnection('warren-proof-probe');
      await connection.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
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
    await sleep(5_000);
    await rabbitmqctl('start_app').catch(() => undefined);
  }
  await waitForBroker(120_000);
}
