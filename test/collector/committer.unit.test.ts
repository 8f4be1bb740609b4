import type { Message, Options } from 'amqplib';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ERROR_HEADER, topologyNames, type StoredRecord } from '../../protocol/index.js';
import type { DeliveryBatch } from '../../collector/ingest/batch.js';
import { createCommitter, type BatchChannels } from '../../collector/ingest/committer.js';
import { createMetrics } from '../../collector/metrics.js';
import type { CollectorStatus } from '../../collector/status.js';
import type { WriteResult } from '../../collector/store/store.js';
import { createRedeliveryLedger } from '../../collector/ingest/redeliveries.js';
import { captureLogger } from '../../testkit/log.js';

let tags = 0;

function delivery(body: string, contentType = 'application/x-ndjson'): Message {
  return {
    content: Buffer.from(body),
    fields: { deliveryTag: ++tags, redelivered: false, exchange: 'logs', routingKey: 'app.info' },
    properties: { contentType, messageId: `m${tags}`, headers: {} },
  } as unknown as Message;
}

/** Records what the committer does to the session's channels, in order. */
class FakeChannels implements BatchChannels {
  open = true;
  readonly calls: string[] = [];
  confirmsFail = false;
  readonly channel = {
    ack: (message: Message, allUpTo?: boolean): void => {
      this.calls.push(`ack ${message.fields.deliveryTag} ${String(allUpTo)}`);
    },
    checkQueue: (queue: string): Promise<unknown> => {
      this.calls.push(`check ${queue}`);
      return Promise.resolve({});
    },
  };
  readonly confirm = {
    publish: (exchange: string, _key: string, _content: Buffer, options?: Options.Publish): boolean => {
      this.calls.push(
        `dead-letter to ${exchange}: ${String((options?.headers as Record<string, unknown> | undefined)?.[ERROR_HEADER])}`,
      );
      return true;
    },
    waitForConfirms: (): Promise<void> =>
      this.confirmsFail ? Promise.reject(new Error('nacked')) : Promise.resolve(),
  };
}

function batchOf(owner: FakeChannels, messages: Message[]): DeliveryBatch<BatchChannels, Message> {
  return {
    owner,
    deliveries: [...messages],
    last: messages.at(-1) ?? null,
    messages: messages.length,
    records: 0,
    firstAt: 0,
  };
}

function setup(
  write: (records: readonly StoredRecord[]) => WriteResult,
  onStored: (result: WriteResult) => void = () => undefined,
) {
  const { logger, lines } = captureLogger();
  const metrics = createMetrics(new Registry());
  const status = { storeWritable: true, stored: 0, duplicates: 0, deadLettered: 0 } as CollectorStatus;
  const stored: WriteResult[] = [];
  const writes: number[] = [];
  const committer = createCommitter({
    config: {
      queue: 'logs.archive',
      maxMessageBytes: 1024,
      names: topologyNames('logs'),
    },
    writer: {
      location: '/tmp/x.db',
      ledgerRowsFor: () => Promise.resolve([]),
      write(source) {
        // Read at once, as the stores do (the committer decodes as they read).
        const records = [...source];
        writes.push(records.length);
        return Promise.resolve().then(() => write(records));
      },
    },
    redeliveries: createRedeliveryLedger([]),
    metrics,
    status,
    logger,
    now: () => Date.parse('2026-12-01T00:00:00Z'),
    onStored: (result) => {
      stored.push(result);
      onStored(result);
    },
  });
  return { committer, metrics, status, stored, writes, lines };
}

const wrote = (records: readonly StoredRecord[]): WriteResult => ({
  stored: records.length,
  duplicates: 0,
  lastSeq: records.length,
  newestTs: null,
});

describe('committer', () => {
  it('writes the whole batch in one call, then acks its last delivery with one multiple-ack', async () => {
    const { committer, status, stored, writes } = setup(wrote);
    const channels = new FakeChannels();
    const messages = [delivery('{"msg":"a"}\n{"msg":"b"}\n'), delivery('{"msg":"c"}\n')];
    const batch = batchOf(channels, messages);
    await expect(committer.commit(batch)).resolves.toEqual({ acked: true, seen: 3 });
    expect(writes).toEqual([3]);
    expect(channels.calls).toEqual([`ack ${messages[1]?.fields.deliveryTag} true`]);
    expect(batch.deliveries).toEqual([]);
    expect(status.stored).toBe(3);
    expect(stored).toHaveLength(1);
  });

  it('dead-letters the bad lines before the ack, and keeps the batch unacked when they are not confirmed', async () => {
    const { committer, status } = setup(wrote);
    const channels = new FakeChannels();
    const message = delivery('{"msg":"good"}\n{"msg":\n');
    await expect(committer.commit(batchOf(channels, [message]))).resolves.toEqual({ acked: true, seen: 2 });
    expect(channels.calls[0]).toMatch(/^dead-letter to logs\.dead: invalid JSON/);
    expect(channels.calls[1]).toBe(`ack ${message.fields.deliveryTag} true`);
    expect(status.deadLettered).toBe(1);

    const refused = new FakeChannels();
    refused.confirmsFail = true;
    await expect(committer.commit(batchOf(refused, [delivery('{"msg":\n')]))).resolves.toEqual({
      acked: false,
      seen: 1,
      why: 'dead letters not confirmed',
    });
    expect(refused.calls.some((call) => call.startsWith('ack'))).toBe(false);
  });

  it('retries a refused write until the store takes it, and says the store is unwritable meanwhile', async () => {
    let refusals = 1;
    const { committer, status, metrics, lines } = setup((records) => {
      if (refusals-- > 0) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      return wrote(records);
    });
    const channels = new FakeChannels();
    await expect(committer.commit(batchOf(channels, [delivery('{"msg":"a"}\n')]))).resolves.toMatchObject({
      acked: true,
    });
    expect(status.storeWritable).toBe(true);
    expect((await metrics.storeErrors.get()).values[0]?.value).toBe(1);
    expect(lines().map((line) => line.msg)).toContain('the store accepts writes again; resuming');
  });

  it('reads the same records on every attempt and dead-letters a bad line once, however often the write is retried', async () => {
    let refusals = 2;
    const attempts: string[][] = [];
    const { committer, status } = setup((records) => {
      attempts.push(records.map((record) => record.msg));
      if (refusals-- > 0) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return wrote(records);
    });
    const channels = new FakeChannels();
    const messages = [delivery('{"msg":"a"}\n{"msg":\n{"msg":"b"}\n'), delivery('{"msg":"c"}\n')];
    await expect(committer.commit(batchOf(channels, messages))).resolves.toEqual({ acked: true, seen: 4 });
    expect(attempts).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ]);
    expect(channels.calls.filter((call) => call.startsWith('dead-letter'))).toHaveLength(1);
    expect(status.deadLettered).toBe(1);
    expect(status.stored).toBe(3);
  });

  it('leaves a refused batch unacked once it stops retrying (closing)', async () => {
    const { committer, status } = setup(() => {
      throw new Error('disk I/O error');
    });
    committer.stopRetrying();
    const channels = new FakeChannels();
    await expect(committer.commit(batchOf(channels, [delivery('{"msg":"a"}\n')]))).resolves.toEqual({
      acked: false,
      seen: 1,
      why: 'batch not committed',
    });
    expect(status.storeWritable).toBe(false);
    expect(channels.calls).toEqual([]);
  });

  it('never acks on a lost session, and a failing stored listener does not unack the batch', async () => {
    const { committer } = setup(wrote);
    const lost = new FakeChannels();
    lost.open = false;
    await expect(committer.commit(batchOf(lost, [delivery('{"msg":"a"}\n')]))).resolves.toEqual({
      acked: false,
      seen: 0,
      why: null,
    });
    expect(lost.calls).toEqual([]);

    const { committer: failing, lines } = setup(wrote, () => {
      throw new Error('stream gone');
    });
    const channels = new FakeChannels();
    await expect(failing.commit(batchOf(channels, [delivery('{"msg":"a"}\n')]))).resolves.toMatchObject({
      acked: true,
    });
    expect(lines().map((line) => line.msg)).toContain("a 'stored' listener failed");
  });
});
