import { describe, expect, it } from 'vitest';
import { BatchAssembler, type BatchLimits } from '../../collector/ingest/batch.js';

/** A delivery that says how many records it holds. */
interface Item {
  readonly id: string;
  readonly records: number;
}

const limits: BatchLimits = { batchRecords: 10, batchMessages: 4, lingerMs: 50, prefetch: 2000 };

function assembler(overrides: Partial<BatchLimits> = {}): {
  batches: BatchAssembler<string, Item>;
  clock: { now: number };
} {
  const clock = { now: 1000 };
  const batches = new BatchAssembler<string, Item>(
    { ...limits, ...overrides },
    (item) => item.records,
    () => clock.now,
  );
  return { batches, clock };
}

const item = (id: string, records = 1): Item => ({ id, records });

describe('batch assembler', () => {
  it('lingers on a partial batch, then is due once the linger has passed', () => {
    const { batches, clock } = assembler();
    expect(batches.isDue(false)).toBe(false);
    expect(batches.lingerLeft()).toBeNull();
    expect(batches.add('s1', item('a'))).toBe(false);
    clock.now += 20;
    expect(batches.add('s1', item('b'))).toBe(false);
    expect(batches.isDue(false)).toBe(false);
    // Linger counts from the first delivery, not the last.
    expect(batches.lingerLeft()).toBe(30);
    clock.now += 30;
    expect(batches.isDue(false)).toBe(true);
    expect(batches.take()).toMatchObject({ owner: 's1', messages: 2, records: 2, last: item('b') });
    expect(batches.take()).toBeNull();
  });

  it('is due at once when draining', () => {
    const { batches } = assembler();
    batches.add('s1', item('a'));
    expect(batches.isDue(true)).toBe(true);
  });

  it('is full by records or by messages, and keeps what arrives meanwhile in a backlog, in order', () => {
    const { batches, clock } = assembler();
    expect(batches.add('s1', item('a', 6))).toBe(false);
    expect(batches.add('s1', item('b', 6))).toBe(true);
    clock.now += 5;
    batches.add('s1', item('c'));
    batches.add('s1', item('d'));
    const first = batches.take();
    expect(first?.deliveries.map((d) => d.id)).toEqual(['a', 'b']);
    expect(first?.records).toBe(12);
    // The backlog becomes the next batch, its linger counted from when it was taken in.
    expect(batches.lingerLeft()).toBe(50);
    expect(batches.take()?.deliveries.map((d) => d.id)).toEqual(['c', 'd']);

    for (const id of ['e', 'f', 'g']) expect(batches.add('s1', item(id))).toBe(false);
    expect(batches.add('s1', item('h'))).toBe(true);
    expect(batches.take()?.messages).toBe(4);
  });

  it('is due when it holds every prefetched message', () => {
    const { batches } = assembler({ prefetch: 2 });
    expect(batches.prefetch).toBe(2);
    expect(batches.add('s1', item('a'))).toBe(false);
    expect(batches.add('s1', item('b'))).toBe(true);
    expect(batches.isDue(false)).toBe(true);
  });

  it('drops what it holds when the session is lost, and never mixes sessions in one batch', () => {
    const { batches } = assembler();
    batches.add('s1', item('a', 12));
    batches.add('s1', item('b'));
    batches.clear();
    expect(batches.take()).toBeNull();
    batches.add('s1', item('c'));
    batches.add('s2', item('d'));
    expect(batches.take()).toMatchObject({ owner: 's2', messages: 1 });
  });

  it('starts the prefetch small and resizes it only when off by more than a factor of two', () => {
    const { batches } = assembler({ batchRecords: 5000, batchMessages: 1000, prefetch: 2000 });
    expect(batches.prefetch).toBe(100);
    // One record per message: two batches of 1000 messages.
    expect(batches.learn(10, 10)).toBe(2000);
    batches.prefetch = 2000;
    expect(batches.learn(0, 0)).toBeNull();
    // 500 records per message, learned as a moving average.
    expect(batches.learn(10, 5000)).toBe(40);
    batches.prefetch = 40;
    expect(batches.learn(10, 5000)).toBeNull();
    expect(batches.recordsPerMessageSeen).toBeCloseTo(375.25);
  });
});
