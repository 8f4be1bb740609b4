import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../protocol/index.js';
import { openPgQueryStore } from '../../collector/store/postgres/pg-query-store.js';
import { openPgStore } from '../../collector/store/postgres/pg-store.js';
import type { QueryStore } from '../../collector/store/query.js';
import type { IngestStore } from '../../collector/store/store.js';
import { createPgSchema, type TestSchema } from '../../testkit/postgres.js';

/**
 * Issue 17: several collectors commit to one PostgreSQL store at once, so commit order is not seq
 * order. A reader following the live stream ("after seq N") must still see every record exactly
 * once: writers here hold their transactions open for random times while a reader polls.
 */

const silent = pino({ level: 'silent' });
const record = (writer: number, i: number): StoredRecord => ({
  id: `w${writer}-${i}`,
  ts: new Date().toISOString(),
  facility: 'app',
  severity: 'info',
  msg: `writer ${writer} record ${i}`,
  routing_key: 'app.info',
});

describe('the PostgreSQL store with concurrent writers', () => {
  let schema: TestSchema;
  let writers: IngestStore[];
  let reads: QueryStore;

  beforeAll(async () => {
    schema = await createPgSchema('concurrent');
    writers = [];
    // Each batch's transaction is held open a random while (a slow disk, a busy server), so a later
    // seq block often commits before an earlier one.
    const beforeCommit = (): Promise<void> =>
      new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
    for (let i = 0; i < 4; i++)
      writers.push(await openPgStore(schema.url, { applicationName: `writer ${i}`, beforeCommit }, silent));
    reads = await openPgQueryStore(schema.url, { connections: 2, timeoutMs: 30_000 }, silent);
  });
  afterAll(async () => {
    await reads.close();
    for (const writer of writers) await writer.close(silent);
    await schema.drop();
  });

  it('a reader resuming after the last seq it saw misses and repeats nothing', async () => {
    const perWriter = 120;
    let writing = true;
    const seen: string[] = [];
    let after = 0;
    const follow = async (): Promise<void> => {
      for (;;) {
        const batch = await reads.streamBatch({ patterns: [] }, after, 1000);
        for (const r of batch.records) seen.push(r.record.id ?? '');
        after = batch.through;
        if (!writing && !batch.more && batch.head === after) {
          // One more look after the writers stopped: everything must be below the head now.
          const last = await reads.streamBatch({ patterns: [] }, after, 1000);
          if (last.records.length === 0) return;
          for (const r of last.records) seen.push(r.record.id ?? '');
          after = last.through;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const reader = follow();
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < perWriter; i += 4) {
          const batch = [0, 1, 2, 3].map((j) => record(w, i + j));
          await writer.write(batch);
        }
      }),
    );
    writing = false;
    await reader;
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(writers.length * perWriter);
  });

  it('collectors starting together on one queue all remember its bindings (none fails on a duplicate)', async () => {
    // Each start rewrites the queue's binding keys; two at once used to collide on the primary key.
    for (let round = 0; round < 20; round++) {
      const keys = round % 2 === 0 ? ['#', 'kern.*'] : ['#'];
      await Promise.all(writers.map((writer) => writer.rememberBindings('q.archive', 'logs', keys)));
      expect(await writers[0]!.bindings('q.archive', 'logs')).toEqual(keys);
    }
  });
});
