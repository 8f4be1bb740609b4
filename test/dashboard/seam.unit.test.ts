import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../protocol/index.js';
import { Seam } from '../../dashboard/seam.js';

function record(id: string): StoredRecord {
  return {
    id,
    ts: '2026-11-21T22:00:00.000Z',
    facility: 'app',
    severity: 'info',
    msg: id,
    routing_key: 'app.info',
  };
}

describe('the seam between history and live', () => {
  it('holds live records, shows each record once, and releases the rest in arrival order', () => {
    const seam = new Seam();
    seam.hold();
    expect(seam.live([record('l1'), record('l2')])).toEqual([]);
    expect(seam.history([record('h1'), record('l1')]).map((r) => r.id)).toEqual(['h1', 'l1']);
    expect(seam.release().map((r) => r.id)).toEqual(['l2']);
    expect(seam.live([record('l2'), record('l3')]).map((r) => r.id)).toEqual(['l3']);
  });

  it('is caught up only once the history reaches a record the live queue holds', () => {
    const seam = new Seam();
    seam.hold();
    seam.live([record('l1')]);
    expect(seam.heldCount).toBe(1);
    seam.history([record('h1'), record('h2')]);
    expect(seam.caughtUp).toBe(false);
    seam.history([record('h3'), record('l1')]);
    expect(seam.caughtUp).toBe(true);
    seam.release();
    // A new hold (a reconnect) starts over.
    seam.hold();
    expect(seam.caughtUp).toBe(false);
  });

  it('counts live records beyond the hold limit instead of losing them silently', () => {
    const seam = new Seam({ holdLimit: 2 });
    seam.hold();
    seam.live([record('a'), record('b'), record('c')]);
    expect(seam.takeOverflow()).toBe(1);
    // The dropped one no longer counts towards catching up.
    seam.history([record('a')]);
    expect(seam.caughtUp).toBe(false);
    expect(seam.release().map((r) => r.id)).toEqual(['b', 'c']);
  });
});
