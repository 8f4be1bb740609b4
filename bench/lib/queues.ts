import type { Channel } from 'amqplib';

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
