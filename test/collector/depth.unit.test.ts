import { describe, expect, it } from 'vitest';
import { GrowthWatch } from '../../collector/ingest/depth.js';

describe('GrowthWatch (.unrouted and .dead)', () => {
  it('warns when a queue holds messages and has grown, at most once per interval', () => {
    const watch = new GrowthWatch(60_000);
    expect(watch.observe(0, 0)).toBeNull();
    expect(watch.observe(3, 1_000)).toEqual({ depth: 3, grown: 3 });
    expect(watch.observe(5, 2_000)).toBeNull(); // within the interval
    expect(watch.observe(5, 70_000)).toEqual({ depth: 5, grown: 2 });
    expect(watch.observe(5, 200_000)).toBeNull(); // not grown since
  });

  it('starts over when someone purges or replays the queue', () => {
    const watch = new GrowthWatch(60_000);
    expect(watch.observe(10, 0)).toEqual({ depth: 10, grown: 10 });
    expect(watch.observe(0, 100_000)).toBeNull();
    expect(watch.observe(2, 200_000)).toEqual({ depth: 2, grown: 2 });
  });
});
