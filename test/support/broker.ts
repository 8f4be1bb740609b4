import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';

/** The broker every test talks to (CI makes sure it is up). */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A name no other test (or parallel run) uses, e.g. `test-proto-3fa9c1`. */
export function uniqueName(area: string): string {
  return `test-${area}-${randomBytes(4).toString('hex')}`;
}

export async function openConnection(name: string): Promise<ChannelModel> {
  return amqp.connect(AMQP_URL, { clientProperties: { connection_name: name } });
}

/** Deletes the exchanges and queues of one Warren topology (as derived from its exchange name). */
export async function deleteTopology(
  connection: ChannelModel,
  exchange: string,
  extraQueues: string[] = [],
): Promise<void> {
  const channel = await connection.createChannel();
  for (const queue of [`${exchange}.archive`, `${exchange}.unrouted`, `${exchange}.dead`, ...extraQueues]) {
    await channel.deleteQueue(queue);
  }
  for (const name of [exchange, `${exchange}.unrouted`, `${exchange}.dead`])
    await channel.deleteExchange(name);
  await channel.close();
}
