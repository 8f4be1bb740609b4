import { describe, expect, it } from 'vitest';
import {
  closeOwnConnections,
  collectorKill,
  collectorKillIdless,
  poison,
  rotationWhileStopped,
  secondCollector,
  tailsAndUnrouted,
} from '../../chaos/scenarios.js';

// The reduced chaos suite for CI: real logship and logcollect child processes (npm test builds
// them first), a few thousand records each, and only faults that leave the shared broker alone.
const options = { quick: true, log: (): void => undefined };

describe('chaos (reduced)', () => {
  it('loses and doubles nothing when the broker closes our connections three times', async () => {
    const result = await closeOwnConnections.run(options);
    expect(result.problems).toEqual([]);
    expect(result.sent).toBe(4_000);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('loses and doubles nothing when the collector is SIGKILLed mid-batch five times', async () => {
    const result = await collectorKill.run(options);
    expect(result.problems).toEqual([]);
    expect(result.sent).toBe(10_000);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('loses and doubles nothing when the followed file is rotated while logship is stopped', async () => {
    const result = await rotationWhileStopped.run(options);
    expect(result.problems).toEqual([]);
    expect(result.sent).toBe(4_000);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('stores the good records and dead-letters every kind of poison with a reason', async () => {
    const result = await poison.run(options);
    expect(result.problems).toEqual([]);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('a second collector on the same store or the same port refuses before consuming anything', async () => {
    const result = await secondCollector.run(options);
    expect(result.problems).toEqual([]);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('keeps every record the archive does not bind in .unrouted while live tails come and go', async () => {
    const result = await tailsAndUnrouted.run(options);
    expect(result.problems).toEqual([]);
    expect(result.sent).toBe(8_000);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('does not store twice what an id-less publisher sent when the collector is SIGKILLed mid-batch', async () => {
    const result = await collectorKillIdless.run(options);
    expect(result.problems).toEqual([]);
    expect(result.sent).toBe(10_000);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 120_000);
});
