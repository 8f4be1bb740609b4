import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBroker, ErrorCodes, isWarrenError, resolveCommonConfig } from '../../protocol/index.js';
import { quorumLeaderKill } from '../../chaos/scenarios.js';
import { removeCluster, startCluster } from '../../testkit/cluster.js';
import { freePort } from '../../testkit/net.js';

// Issue 17: several broker addresses, and a quorum archive on a local 3-node cluster
// (scripts/rabbitmq-cluster.sh: its own nodes on 5701-5703, never the machine's broker).
describe('a RabbitMQ cluster', () => {
  let urls = '';

  beforeAll(async () => {
    urls = await startCluster();
  }, 180_000);

  afterAll(async () => {
    await removeCluster();
  }, 120_000);

  it('takes several comma-separated addresses and passes over one that does not answer', async () => {
    const dead = `amqp://guest:guest@127.0.0.1:${await freePort()}`;
    const config = resolveCommonConfig({ amqp: `${dead}, ${urls}` }, {});
    expect(config.amqpUrl.split(',')).toHaveLength(4);
    const connection = await connectBroker(config.amqpUrl, { name: 'test-cluster-addresses' });
    expect(connection.connection.serverProperties.product).toBe('RabbitMQ');
    await connection.close();
  });

  it('fails at once on a refused login, without trying the other nodes in vain', async () => {
    const wrong = urls.replaceAll('guest:guest', 'guest:wrong');
    const err: unknown = await connectBroker(wrong, { name: 'test-cluster-login' }).catch((e: unknown) => e);
    expect(isWarrenError(err) && err.code).toBe(ErrorCodes.BROKER_AUTH);
  });

  it('loses and doubles nothing when the node leading the quorum archive is SIGKILLed mid-ingest', async () => {
    const result = await quorumLeaderKill.run({ quick: true, log: () => undefined });
    expect(result.problems).toEqual([]);
    expect(result.sent).toBe(6_000);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 180_000);
});
