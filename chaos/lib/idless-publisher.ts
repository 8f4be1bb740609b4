import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { sleep } from '../../protocol/index.js';
import { openConnection } from '../../testkit/broker.js';

/**
 * A foreign publisher as plain pika or syslog-ng publish (issue 14 item 6): one persistent text
 * message per record, with no message_id and no id in the body, so the store's UNIQUE id cannot
 * tell a redelivered copy from a new record. It publishes in chunks and waits for the broker's
 * confirms; the scenarios inject their faults between chunks, so it never resends (a resend would
 * be a publisher's double, not a redelivery).
 */
export class IdlessPublisher {
  private connection: ChannelModel | null = null;
  private channel: ConfirmChannel | null = null;

  constructor(
    private readonly name: string,
    private readonly exchange: string,
    private readonly routingKey: string,
    private readonly url: string,
  ) {}

  async publish(bodies: readonly string[]): Promise<void> {
    const channel = await this.live();
    for (const body of bodies) {
      channel.publish(this.exchange, this.routingKey, Buffer.from(body), { persistent: true });
    }
    await channel.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
    this.connection = null;
    this.channel = null;
  }

  /** A channel proven open by a round trip, reconnecting after a fault closed the last one. */
  private async live(): Promise<ConfirmChannel> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.channel === null) {
          const connection = await openConnection(this.name, this.url);
          connection.on('error', () => undefined);
          const channel = await connection.createConfirmChannel();
          channel.on('error', () => undefined);
          channel.on('close', () => {
            if (this.channel === channel) this.channel = null;
          });
          this.connection = connection;
          this.channel = channel;
        }
        await this.channel.checkExchange(this.exchange);
        return this.channel;
      } catch (err) {
        await this.close();
        if (attempt >= 50) throw err;
        await sleep(200);
      }
    }
  }
}
