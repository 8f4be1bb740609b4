import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WarrenError } from '../../protocol/index.js';
import {
  connectBroker,
  declareArchiveQueue,
  declareExchanges,
  declareTailQueue,
  ErrorCodes,
  isWarrenError,
  topologyNames,
} from '../../protocol/index.js';
import { AMQP_URL, deleteTopology, openConnection, rabbitmqctl, uniqueName } from '../../testkit/broker.js';

async function rejection(promise: Promise<unknown>): Promise<WarrenError> {
  try {
    await promise;
  } catch (err) {
    if (isWarrenError(err)) return err;
    throw err;
  }
  throw new Error('expected a WarrenError');
}

describe('topology', () => {
  let connection: ChannelModel;
  const exchange = uniqueName('test-topology');
  const names = topologyNames(exchange);

  beforeAll(async () => {
    connection = await openConnection(exchange);
  });
  afterAll(async () => {
    await deleteTopology(exchange);
    await connection.close();
  });

  it('declares idempotently, routes unmatched keys to unrouted', async () => {
    await declareArchiveQueue(connection, names, { bindings: ['kern.*'] });
    await declareArchiveQueue(connection, names, { bindings: ['kern.*'] });
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, 'kern.critical', Buffer.from('routed'));
    channel.publish(exchange, 'app.info', Buffer.from('nobody binds this'));
    await channel.waitForConfirms();
    expect((await channel.checkQueue(names.archive)).messageCount).toBe(1);
    expect((await channel.checkQueue(names.unrouted)).messageCount).toBe(1);
    await channel.close();
  });

  it('still routes unmatched keys to unrouted while a tail is bound to every key (issue 14 item 1)', async () => {
    const channel = await connection.createConfirmChannel();
    const tail = await declareTailQueue(channel, names, { bindings: ['#'] });
    const before = (await channel.checkQueue(names.unrouted)).messageCount;
    channel.publish(exchange, 'app.info', Buffer.from('the archive does not bind this'));
    channel.publish(exchange, 'kern.info', Buffer.from('the archive binds this'));
    await channel.waitForConfirms();
    expect((await channel.checkQueue(tail)).messageCount).toBe(2);
    expect((await channel.checkQueue(names.unrouted)).messageCount).toBe(before + 1);
    await channel.deleteQueue(tail);
    await channel.purgeQueue(names.archive);
    await channel.close();
  });

  it("moves an older collector's bindings off the main exchange without losing or doubling", async () => {
    const old = topologyNames(uniqueName('test-upgrade'));
    const channel = await connection.createConfirmChannel();
    // What a collector before `.collect` left: the archive bound to the main exchange itself.
    await declareExchanges(connection, old);
    await channel.assertQueue(old.archive, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': old.dead },
    });
    await channel.bindQueue(old.archive, old.exchange, 'kern.*');
    channel.publish(old.exchange, 'kern.info', Buffer.from('before the upgrade'));
    await channel.waitForConfirms();
    await declareArchiveQueue(connection, old, { bindings: ['kern.*'] });
    channel.publish(old.exchange, 'kern.info', Buffer.from('after the upgrade'));
    channel.publish(old.exchange, 'app.info', Buffer.from('unrouted'));
    await channel.waitForConfirms();
    const bodies: string[] = [];
    for (
      let m = await channel.get(old.archive, { noAck: true });
      m !== false;
      m = await channel.get(old.archive, { noAck: true })
    ) {
      bodies.push(m.content.toString());
    }
    expect(bodies).toEqual(['before the upgrade', 'after the upgrade']);
    expect((await channel.checkQueue(old.unrouted)).messageCount).toBe(1);
    // The old binding is gone: only `.collect` routes to the archive now.
    const listing = await rabbitmqctl(
      'list_bindings',
      '-q',
      '--no-table-headers',
      'source_name',
      'destination_name',
      'routing_key',
    );
    const toArchive = listing
      .split('\n')
      .map((line) => line.split('\t'))
      // The default exchange's implicit binding has no source name.
      .filter(([source, destination]) => destination === old.archive && source !== '')
      .map(([source, , key]) => `${source ?? ''} ${key ?? ''}`);
    expect(toArchive).toEqual([`${old.collect} kern.*`]);
    await channel.close();
    await deleteTopology(old.exchange);
  });

  it('dead-letters rejected messages from the archive to the dead queue', async () => {
    const channel = await connection.createConfirmChannel();
    await channel.purgeQueue(names.archive);
    channel.publish(exchange, 'kern.error', Buffer.from('poison'));
    await channel.waitForConfirms();
    const message = await channel.get(names.archive);
    expect(message).not.toBe(false);
    if (message !== false) channel.nack(message, false, false);
    await expect.poll(async () => (await channel.checkQueue(names.dead)).messageCount).toBe(1);
    await channel.close();
  });

  it('reports an argument clash naming the queue and the argument', async () => {
    const err = await rejection(declareArchiveQueue(connection, names, { bindings: ['#'], quorum: true }));
    expect(err.code).toBe(ErrorCodes.TOPOLOGY_CLASH);
    expect(err.message).toContain(`queue '${names.archive}'`);
    expect(err.message).toContain('x-queue-type');
    // The existing queue is classic: the way to use it as it is, is to start WITHOUT --quorum.
    expect(err.hint).toContain('start without --quorum to use the existing classic queue');
    expect(err.hint).toContain('also deletes the messages it holds');
    // The connection survives the refused declaration.
    await declareExchanges(connection, names);
  });

  it('reports an exchange clash too', async () => {
    const other = topologyNames(uniqueName('test-clash'));
    const channel = await connection.createChannel();
    await channel.assertExchange(other.exchange, 'topic', { durable: false });
    const err = await rejection(declareExchanges(connection, other));
    expect(err.code).toBe(ErrorCodes.TOPOLOGY_CLASH);
    expect(err.message).toContain(`exchange '${other.exchange}'`);
    // The hint names every argument Warren's exchange has, so a foreign client can match them.
    expect(err.hint).toContain('durable topic exchange');
    expect(err.hint).toContain(`alternate-exchange = '${other.unrouted}'`);
    expect(err.hint).toContain('passively');
    await channel.deleteExchange(other.exchange);
    for (const name of [other.unrouted, other.dead]) {
      await channel.deleteQueue(name);
      await channel.deleteExchange(name);
    }
    await channel.close();
  });

  it('declares a quorum archive with a delivery limit', async () => {
    const quorum = topologyNames(uniqueName('test-quorum'));
    await declareArchiveQueue(connection, quorum, { bindings: ['#'], quorum: true });
    const channel = await connection.createChannel();
    const clash = await rejection(declareArchiveQueue(connection, quorum, { bindings: ['#'] }));
    expect(clash.context).toMatchObject({
      argument: 'x-queue-type',
      current: expect.stringContaining('quorum') as string,
    });
    expect(clash.hint).toContain('start with --quorum to use the existing quorum queue');
    await channel.close();
    await deleteTopology(quorum.exchange);
  });

  it('caps a tail queue and drops the oldest', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await declareTailQueue(channel, names, { bindings: ['tail.*'], maxLength: 3 });
    for (let i = 0; i < 5; i++) channel.publish(exchange, 'tail.info', Buffer.from(String(i)));
    await channel.waitForConfirms();
    expect((await channel.checkQueue(queue)).messageCount).toBe(3);
    const first = await channel.get(queue, { noAck: true });
    expect(first !== false && first.content.toString()).toBe('2');
    await channel.close();
  });

  it('says clearly when the broker is unreachable', async () => {
    const err = await rejection(connectBroker('amqp://guest:guest@127.0.0.1:1', { name: 'unreachable' }));
    expect(err.code).toBe(ErrorCodes.BROKER_UNREACHABLE);
    expect(err.message).toBe('cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1 (ECONNREFUSED)');
    expect(err.hint).toContain('AMQP_URL');
  });

  it('says clearly when the login is refused', async () => {
    const url = AMQP_URL.replace('guest:guest', 'guest:wrong');
    const err = await rejection(connectBroker(url, { name: 'bad-login' }));
    expect(err.code).toBe(ErrorCodes.BROKER_AUTH);
  });
});
