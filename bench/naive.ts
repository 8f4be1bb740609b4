import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import { encodeRecord, CONTENT_TYPE_JSON, type LogRecord } from '../protocol/index.js';
import { declareBenchQueue, deleteBenchQueue } from './lib/queues.js';
import { openConnection as connect, uniqueName } from '../testkit/broker.js';
import type { BenchRecord } from './lib/records.js';
import { createStore, makeInserter } from './lib/store.js';

/**
 * The RabbitMQ-tutorial pipeline most users would write: publish each record as its own
 * persistent message, a consumer with prefetch 1 that inserts the record (its own transaction,
 * same schema, FTS and pragmas as Warren, so fsynced before the ack like a Warren batch) and acks
 * it. Records/s until the last is stored.
 */
export async function naivePipeline(
  records: readonly BenchRecord[],
  options: { sqliteDefaults?: boolean } = {},
): Promise<number> {
  const queue = uniqueName('bench-naive');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-naive-'));
  const publisherConnection = await connect('bench-naive-publisher');
  const consumerConnection = await connect('bench-naive-consumer');
  const db = createStore(path.join(dir, 'naive.db'), { defaults: options.sqliteDefaults === true });
  try {
    const inserter = makeInserter(db, true);
    const publisher = await publisherConnection.createConfirmChannel();
    const consumer = await consumerConnection.createChannel();
    await declareBenchQueue(publisher, queue);
    await consumer.prefetch(1);
    let stored = 0;
    const allStored = new Promise<void>((resolve) => {
      void consumer.consume(queue, (message: ConsumeMessage | null) => {
        if (message === null) return;
        const record = JSON.parse(message.content.toString('utf8')) as LogRecord;
        inserter.insertOne({ record, routingKey: message.fields.routingKey });
        consumer.ack(message);
        if (++stored === records.length) resolve();
      });
    });
    const started = performance.now();
    let n = 0;
    for (const { record, routingKey } of records) {
      const ok = publisher.publish(queue, routingKey, encodeRecord(record), {
        persistent: true,
        contentType: CONTENT_TYPE_JSON,
        messageId: `n${n++}`,
      });
      if (!ok) await new Promise((resolve) => publisher.once('drain', resolve));
    }
    await publisher.waitForConfirms();
    await allStored;
    const seconds = (performance.now() - started) / 1000;
    await deleteBenchQueue(publisher, queue);
    return records.length / seconds;
  } finally {
    db.close();
    await publisherConnection.close().catch(() => undefined);
    await consumerConnection.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
