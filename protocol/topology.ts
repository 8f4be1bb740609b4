import type { Channel, ChannelModel } from 'amqplib';
import { ErrorCodes, WarrenError } from './errors.js';
import { DEFAULT_EXCHANGE } from './config.js';

/** The broker names of one Warren installation (CONTRACT §1); all derive from the exchange's. */
export interface TopologyNames {
  readonly exchange: string;
  /** Where archive queues bind: fed every record by `exchange`, its alternate exchange decides `.unrouted`. */
  readonly collect: string;
  readonly unrouted: string;
  readonly archive: string;
  readonly dead: string;
}

export function topologyNames(exchange: string = DEFAULT_EXCHANGE): TopologyNames {
  return Object.freeze({
    exchange,
    collect: `${exchange}.collect`,
    unrouted: `${exchange}.unrouted`,
    archive: `${exchange}.archive`,
    dead: `${exchange}.dead`,
  });
}

/** Header carrying why a record was dead-lettered (CONTRACT §1). */
export const ERROR_HEADER = 'x-warren-error';

export interface ArchiveQueueOptions {
  /** Queue name; default `<exchange>.archive`. */
  queue?: string;
  /** Quorum instead of classic (`--quorum`). */
  quorum?: boolean;
  /** Topic binding keys, already expanded from patterns. */
  bindings: readonly string[];
  /** Quorum only: redeliveries before a poison message is dead-lettered (default 20). */
  deliveryLimit?: number;
}

export interface TailQueueOptions {
  bindings: readonly string[];
  /** Messages kept for a slow terminal before the oldest are dropped (default 10 000). */
  maxLength?: number;
  /** Bytes of message bodies kept before the oldest are dropped (optional; batches vary in size). */
  maxLengthBytes?: number;
  /** Where dropped messages are dead-lettered so they can be counted (optional). */
  deadLetterExchange?: string;
  deadLetterRoutingKey?: string;
}

/** The exchange the queue `name` is dead-lettered to; the collector's archive goes to `<exchange>.dead`. */
function archiveArguments(names: TopologyNames, options: ArchiveQueueOptions): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-dead-letter-exchange': names.dead };
  if (options.quorum === true) {
    args['x-queue-type'] = 'quorum';
    args['x-delivery-limit'] = options.deliveryLimit ?? 20;
  } else {
    args['x-queue-type'] = 'classic';
  }
  return args;
}

const CLASH =
  /inequivalent arg '([^']+)' for (queue|exchange) '([^']+)'[^:]*: received (.+?) but current is (.+?)"?$/;

/**
 * Turns the broker's bare 406 PRECONDITION_FAILED into an error that names the queue or exchange
 * and the argument that differs, with what to do about it.
 */
export function describeDeclareError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const match = CLASH.exec(message);
  if (match === null) {
    if (/PRECONDITION[-_]FAILED/.test(message)) {
      return new WarrenError(ErrorCodes.TOPOLOGY_CLASH, `the broker refused a declaration: ${message}`, {
        cause: err,
        hint: 'an exchange or queue exists with other settings; delete it or use another --exchange/--queue',
      });
    }
    return err;
  }
  const [, argument = '', kind = '', name = '', received = '', current = ''] = match;
  return new WarrenError(
    ErrorCodes.TOPOLOGY_CLASH,
    `${kind} '${name}' already exists with ${argument} = ${current.trim()}, but Warren declares ${received.trim()}`,
    {
      cause: err,
      hint: kind === 'queue' ? queueClashHint(name, argument, current) : exchangeClashHint(name),
      context: { kind, name, argument, received: received.trim(), current: current.trim() },
    },
  );
}

/** What to do about a queue declared before with other arguments; deleting it deletes its messages. */
function queueClashHint(name: string, argument: string, current: string): string {
  const drainFirst = `deleting the queue also deletes the messages it holds: let a collector drain it first, then rabbitmqctl delete_queue ${name}`;
  if (argument !== 'x-queue-type') return `use another --queue, or re-create it: ${drainFirst}`;
  // Match what exists, not what this run asked for.
  const existingIsQuorum = current.includes('quorum');
  return `start ${existingIsQuorum ? 'with' : 'without'} --quorum to use the existing ${existingIsQuorum ? 'quorum' : 'classic'} queue as it is, or change its type: ${drainFirst}`;
}

/**
 * Usually a foreign client declared the exchange first with the tutorials' arguments. Warren's
 * exchange is a durable topic exchange with an alternate exchange (CONTRACT §1).
 */
function exchangeClashHint(name: string): string {
  return (
    `Warren's exchange '${name}' is a durable topic exchange with alternate-exchange = '${name}.unrouted' ` +
    `(CONTRACT §1; its .unrouted and .dead exchanges are durable fanouts); other clients should not declare it, ` +
    `or declare it passively (examples/). Delete the exchange that is there (management UI, or rabbitmqadmin ` +
    `delete exchange name=${name}: its bindings go, queues and their messages stay) and start Warren first, or use another --exchange`
  );
}

/**
 * Declarations run on a channel of their own: a 406 closes the channel it happened on, and
 * callers' publishing or consuming channels must survive a clash report.
 */
async function onScratchChannel<T>(
  connection: ChannelModel,
  work: (channel: Channel) => Promise<T>,
): Promise<T> {
  const channel = await connection.createChannel();
  // A refused declaration also emits 'error' on the channel; the rejected promise below reports it.
  channel.on('error', () => undefined);
  try {
    return await work(channel);
  } catch (err) {
    throw describeDeclareError(err);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** `logs` (topic, with its alternate exchange), `logs.unrouted` and `logs.dead`, each with its queue. */
export async function declareExchanges(connection: ChannelModel, names: TopologyNames): Promise<void> {
  await onScratchChannel(connection, async (channel) => {
    await channel.assertExchange(names.unrouted, 'fanout', { durable: true });
    await channel.assertQueue(names.unrouted, { durable: true });
    await channel.bindQueue(names.unrouted, names.unrouted, '');
    await channel.assertExchange(names.dead, 'fanout', { durable: true });
    await channel.assertQueue(names.dead, { durable: true });
    await channel.bindQueue(names.dead, names.dead, '');
    await channel.assertExchange(names.exchange, 'topic', {
      durable: true,
      alternateExchange: names.unrouted,
    });
  });
}

/**
 * The exchange archive queues bind to (CONTRACT §1): `logs` hands it every record through an
 * exchange-to-exchange binding `#`, and its own alternate exchange is `logs.unrouted`. So "no archive
 * binding matched" is decided here, apart from the tails (which bind to `logs` and would otherwise
 * keep `logs`'s alternate exchange from ever firing). Declared by the collector only: a new agent
 * beside a collector that still binds to `logs` must not copy every record into `.unrouted`.
 */
export async function declareCollectExchange(connection: ChannelModel, names: TopologyNames): Promise<void> {
  await declareExchanges(connection, names);
  await onScratchChannel(connection, async (channel) => {
    await channel.assertExchange(names.collect, 'topic', {
      durable: true,
      alternateExchange: names.unrouted,
    });
    await channel.bindExchange(names.collect, names.exchange, '#');
  });
}

/**
 * The collector's durable queue bound to its patterns on `<exchange>.collect`; returns the queue
 * name. Idempotent. Bindings an older collector made on the main exchange are removed after the
 * new ones exist (a record routed both ways reaches the queue once), so an upgrade loses nothing.
 */
export async function declareArchiveQueue(
  connection: ChannelModel,
  names: TopologyNames,
  options: ArchiveQueueOptions,
): Promise<string> {
  await declareCollectExchange(connection, names);
  const queue = options.queue ?? names.archive;
  await onScratchChannel(connection, async (channel) => {
    await channel.assertQueue(queue, { durable: true, arguments: archiveArguments(names, options) });
    for (const binding of options.bindings) await channel.bindQueue(queue, names.collect, binding);
    for (const binding of options.bindings) await channel.unbindQueue(queue, names.exchange, binding);
  });
  return queue;
}

/**
 * A live tail's own queue: server-named, exclusive, auto-delete and length-capped, so a terminal
 * that cannot keep up never grows the broker's memory. Declared on the caller's channel because
 * an exclusive queue belongs to the connection that consumes it.
 */
export async function declareTailQueue(
  channel: Channel,
  names: TopologyNames,
  options: TailQueueOptions,
): Promise<string> {
  const args: Record<string, unknown> = {
    'x-max-length': options.maxLength ?? 10_000,
    'x-overflow': 'drop-head',
  };
  if (options.maxLengthBytes !== undefined) args['x-max-length-bytes'] = options.maxLengthBytes;
  if (options.deadLetterExchange !== undefined) {
    args['x-dead-letter-exchange'] = options.deadLetterExchange;
    if (options.deadLetterRoutingKey !== undefined) {
      args['x-dead-letter-routing-key'] = options.deadLetterRoutingKey;
    }
  }
  const { queue } = await channel.assertQueue('', {
    exclusive: true,
    autoDelete: true,
    durable: false,
    arguments: args,
  });
  for (const binding of options.bindings) await channel.bindQueue(queue, names.exchange, binding);
  return queue;
}
