import { describe, expect, it } from 'vitest';
import type { Batch } from '../../agents/batch.js';
import { Publisher } from '../../agents/publisher.js';
import { topologyNames } from '../../protocol/index.js';
import { AMQP_URL, uniqueName } from '../../testkit/broker.js';
import { useCleanups } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';
import { createSink, silentLogger } from './helpers.js';

const cleanup = useCleanups();

/** A 100-record batch of ~21 KB: a message of two frames (method and header, then the body). */
function batch(n: number): Batch {
  const line = JSON.stringify({ msg: `record ${n} ${'x'.repeat(200)}` });
  return {
    key: 'test.info',
    body: Buffer.from(`${Array.from({ length: 100 }, () => line).join('\n')}\n`),
    count: 100,
    firstSeq: n * 100,
    messageId: `publisher-test:${n * 100}`,
  };
}

describe('Publisher', () => {
  it('says wait as soon as amqplib holds a message for the socket, then drains, and every message is confirmed', async () => {
    const sink = await createSink('publisher');
    cleanup(() => sink.close());
    let connected = false;
    let drains = 0;
    const publisher = new Publisher(
      {
        url: AMQP_URL,
        names: topologyNames(sink.exchange),
        connectionName: uniqueName('test-publisher-conn'),
        appId: 'publisher-test',
        logger: silentLogger,
      },
      {
        onConnect: () => (connected = true),
        onDisconnect: () => undefined,
        onDrain: () => drains++,
      },
    );
    cleanup(() => publisher.close());
    await publisher.start();
    await waitUntil('connected', () => connected);

    const confirmed: boolean[] = [];
    // amqplib's own default queues a whole window of frames first (publish true): each message's
    // frame copy then waits behind the others, long enough to reach the old generation.
    expect(publisher.publish(batch(0), (ok) => confirmed.push(ok))).toBe(false);
    await waitUntil('drained', () => drains === 1);
    expect(publisher.publish(batch(1), (ok) => confirmed.push(ok))).toBe(false);
    await waitUntil('both confirmed', () => confirmed.length === 2);
    expect(confirmed).toEqual([true, true]);

    const received = await sink.waitFor((r) => r.length === 200);
    expect(new Set(received.map((r) => r.messageId))).toEqual(
      new Set(['publisher-test:0', 'publisher-test:100']),
    );
  });
});
