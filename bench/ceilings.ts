import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import { encodeRecord, CONTENT_TYPE_JSON } from '../protocol/index.js';
import { declareBenchQueue, deleteBenchQueue } from './lib/queues.js';
import { openConnection as connect, uniqueName } from '../testkit/broker.js';
import { makeRecords, type BenchRecord } from './lib/records.js';
import { createStore, makeInserter } from './lib/store.js';
import { COLLECTOR_DEFAULTS } from '../collector/config.js';

/** Unconfirmed publishes in flight: enough to keep the broker busy, bounded like any real publisher. */
const CONFIRM_WINDOW = 1_000;

/**
 * The broker's ceiling for one message per record: persistent publishes on a confirm channel
 * (a bounded window of unconfirmed ones) into a durable queue, consumed and acked one by one
 * by a second connection. Returns messages/s from first publish to last ack.
 */
export async function amqpCeiling(count: number, records: readonly BenchRecord[]): Promise<number> {
  const queue = uniqueName('bench-ceiling');
  const publisherConnection = await connect('bench-ceiling-publisher');
  const consumerConnection = await connect('bench-ceiling-consumer');
  try {
    const publisher = await publisherConnection.createConfirmChannel();
    const consumer = await consumerConnection.createChannel();
    await declareBenchQueue(publisher, queue);
    await consumer.prefetch(CONFIRM_WINDOW);
    const bodies = records.map((r) => ({ key: r.routingKey, body: encodeRecord(r.record) }));
    let consumed = 0;
    const allConsumed = new Promise<void>((resolve) => {
      void consumer.consume(queue, (message: ConsumeMessage | null) => {
        if (message === null) return;
        consumer.ack(message);
        if (++consumed === count) resolve();
      });
    });
    const started = performance.now();
    for (let n = 0; n < count; n++) {
      const item = bodies[n % bodies.length];
      if (item === undefined) continue;
      const ok = publisher.publish(queue, item.key, item.body, {
        persistent: true,
        contentType: CONTENT_TYPE_JSON,
        messageId: `c${n}`,
        timestamp: Date.now(),
      });
      if (!ok) await new Promise((resolve) => publisher.once('drain', resolve));
      if ((n + 1) % CONFIRM_WINDOW === 0) await publisher.waitForConfirms();
    }
    await publisher.waitForConfirms();
    await allConsumed;
    const seconds = (performance.now() - started) / 1000;
    await deleteBenchQueue(publisher, queue);
    return count / seconds;
  } finally {
    await publisherConnection.close().catch(() => undefined);
    await consumerConnection.close().catch(() => undefined);
  }
}

/** Rows per transaction in the SQLite ceiling: what the collector commits at once. */
export const SQLITE_BATCH = COLLECTOR_DEFAULTS.batchRecords;

/** Raw better-sqlite3 batched inserts of the same records into Warren's schema, with or without FTS. */
export function sqliteCeiling(records: readonly BenchRecord[], fts: boolean): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-sqlite-'));
  try {
    const db = createStore(path.join(dir, 'ceiling.db'));
    const inserter = makeInserter(db, fts);
    const started = performance.now();
    for (let i = 0; i < records.length; i += SQLITE_BATCH)
      inserter.insertBatch(records.slice(i, i + SQLITE_BATCH));
    const seconds = (performance.now() - started) / 1000;
    db.close();
    return records.length / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function ceilingRecords(count: number): BenchRecord[] {
  // 300-byte messages, as issue 7 asks.
  return makeRecords(count, 300, uniqueName('ceil'));
}

/** Persistent publishes with confirms and nobody consuming: the agent's raw per-message peer (issue 3). */
export async function rawPublishRate(count: number, records: readonly BenchRecord[]): Promise<number> {
  const queue = uniqueName('bench-publish');
  const connection = await connect('bench-raw-publisher');
  try {
    const channel = await connection.createConfirmChannel();
    await declareBenchQueue(channel, queue);
    const started = performance.now();
    for (let n = 0; n < count; n++) {
      const item = records[n % records.length];
      if (item === undefined) continue;
      const ok = channel.publish(queue, item.routingKey, encodeRecord(item.record), {
        persistent: true,
        contentType: CONTENT_TYPE_JSON,
        messageId: `p${n}`,
        timestamp: Date.now(),
      });
      if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
      if ((n + 1) % CONFIRM_WINDOW === 0) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();
    const seconds = (performance.now() - started) / 1000;
    await deleteBenchQueue(channel, queue);
    return count / seconds;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
