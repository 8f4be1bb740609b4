import {
  PerformanceObserver,
  constants,
  performance,
  type NodeGCPerformanceDetail,
  type PerformanceEntry,
} from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { enableBufferRelief, relieveBuffers } from '../../agents/memory.js';

const MiB = 1024 * 1024;

/** A `gc` entry's detail (node's types leave it off PerformanceEntry). */
function gcDetail(entry: PerformanceEntry): NodeGCPerformanceDetail {
  return (entry as PerformanceEntry & { detail: NodeGCPerformanceDetail }).detail;
}

describe('buffer relief', () => {
  it('runs a full collection (dead frame copies sit in the old generation) past the bound, at a bounded rate', async () => {
    enableBufferRelief();
    const collections: { kind: number; start: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        collections.push({ kind: gcDetail(entry).kind, start: entry.startTime });
    });
    observer.observe({ entryTypes: ['gc'] });
    let held: Buffer[] | undefined = Array.from({ length: 128 }, () => Buffer.alloc(64 * 1024));
    const before = process.memoryUsage().arrayBuffers;
    expect(relieveBuffers(before + 64 * MiB)).toBe(false);
    expect(held.length).toBe(128);
    held = undefined;

    const from = performance.now();
    expect(relieveBuffers(MiB)).toBe(true);
    const to = performance.now();
    // Right after one, another waits: its cost bounds how often.
    expect(relieveBuffers(MiB)).toBe(false);
    await sleep(50);
    observer.disconnect();
    const during = collections.filter((c) => c.start >= from && c.start <= to).map((c) => c.kind);
    expect(during).toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
    expect(held).toBeUndefined();
  });
});
