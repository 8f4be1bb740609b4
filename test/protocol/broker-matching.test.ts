import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicMatches } from '../../protocol/index.js';
import { openConnection, uniqueName } from '../../testkit/broker.js';

/** Small deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Few distinct words, empty ones included, so patterns and keys collide often.
const LITERALS = ['kern', 'critical', 'a', 'b', ''];

function distinct(count: number, make: () => string, seed: string[] = []): string[] {
  const values = new Set(seed);
  for (let tries = 0; values.size < count && tries < count * 50; tries++) values.add(make());
  return [...values];
}

function generate(random: () => number, wildcards: boolean): string {
  const words = Math.floor(random() * 6);
  const pick = (): string => {
    const r = random();
    if (wildcards && r < 0.2) return '#';
    if (wildcards && r < 0.4) return '*';
    return LITERALS[Math.floor(random() * LITERALS.length)] ?? 'a';
  };
  return Array.from({ length: words }, pick).join('.');
}

describe('topicMatches equals what RabbitMQ routes', () => {
  const seed = 20261121;
  const random = prng(seed);
  const patterns = distinct(400, () => generate(random, true));
  const keys = distinct(200, () => generate(random, false), ['', '.', 'a.', '.a', 'kern.critical']);
  let connection: ChannelModel;
  const exchange = uniqueName('test-matching');

  beforeAll(async () => {
    connection = await openConnection(exchange);
  });
  afterAll(async () => {
    await connection.close();
  });

  it(`agrees on ${patterns.length} patterns × ${keys.length} keys (seed ${seed})`, async () => {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    const queueOf = new Map<string, string>();
    for (const pattern of patterns) {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, exchange, pattern);
      queueOf.set(queue, pattern);
    }
    for (const key of keys) channel.publish(exchange, key, Buffer.from(key));
    await channel.waitForConfirms();

    // Every queue's count is final once the publishes are confirmed; then drain them all.
    let expectedTotal = 0;
    for (const queue of queueOf.keys()) expectedTotal += (await channel.checkQueue(queue)).messageCount;
    const delivered = new Map<string, Set<string>>([...queueOf.values()].map((p) => [p, new Set<string>()]));
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      if (expectedTotal === 0) resolve();
      for (const [queue, pattern] of queueOf) {
        channel
          .consume(
            queue,
            (message) => {
              if (message === null) return;
              delivered.get(pattern)?.add(message.content.toString());
              if (++received === expectedTotal) resolve();
            },
            { noAck: true },
          )
          .catch(reject);
      }
    });

    const disagreements: string[] = [];
    for (const pattern of patterns) {
      const routed = delivered.get(pattern) ?? new Set<string>();
      for (const key of keys) {
        if (topicMatches(pattern, key) !== routed.has(key)) {
          disagreements.push(
            `binding ${JSON.stringify(pattern)} key ${JSON.stringify(key)}: broker ${routed.has(key)}`,
          );
        }
      }
    }
    expect(disagreements).toEqual([]);
    // The generator must exercise both outcomes, or agreement would prove little.
    expect(received).toBeGreaterThan(patterns.length);
    expect(received).toBeLessThan(patterns.length * keys.length);
    await channel.deleteExchange(exchange);
    await channel.close();
  });
});
