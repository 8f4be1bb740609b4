import { describe, expect, it } from 'vitest';
import { amqpTimestampToIso, epochToMs, logTimeToIso } from '../../protocol/index.js';

const NOW = new Date('2026-11-21T22:00:00.000Z');

describe('timestamps', () => {
  it('reads an epoch number below 1e11 as seconds and above as milliseconds', () => {
    expect(epochToMs(1_763_764_434)).toBe(1_763_764_434_000);
    expect(epochToMs(1_763_764_434_123)).toBe(1_763_764_434_123);
  });

  it('takes the AMQP timestamp in either unit, and the arrival time when there is none', () => {
    expect(amqpTimestampToIso(1_763_764_434, NOW)).toBe('2025-11-21T22:33:54.000Z');
    expect(amqpTimestampToIso(1_763_764_434_123, NOW)).toBe('2025-11-21T22:33:54.123Z');
    expect(amqpTimestampToIso(0, NOW)).toBe(NOW.toISOString());
    expect(amqpTimestampToIso(undefined, NOW)).toBe(NOW.toISOString());
  });

  it("keeps a body's canonical ts, rewrites other dates, and falls back on what is no date", () => {
    expect(logTimeToIso('2026-01-02T03:04:05.678Z') ?? 'f').toBe('2026-01-02T03:04:05.678Z');
    expect(logTimeToIso('2026-01-31T24:00:00.000Z') ?? 'f').toBe('2026-02-01T00:00:00.000Z');
    expect(logTimeToIso('2026-01-02T03:04:05+01:00') ?? 'f').toBe('2026-01-02T02:04:05.000Z');
    expect(logTimeToIso('soon') ?? 'f').toBe('f');
    expect(logTimeToIso(1_763_764_434) ?? NOW.toISOString()).toBe('2025-11-21T22:33:54.000Z');
  });

  it("reads a log line's time from digits or a date text, and nothing from the rest", () => {
    expect(logTimeToIso('1763764434123')).toBe('2025-11-21T22:33:54.123Z');
    expect(logTimeToIso(1_763_764_434)).toBe('2025-11-21T22:33:54.000Z');
    expect(logTimeToIso('2026-01-02T03:04:05Z')).toBe('2026-01-02T03:04:05.000Z');
    expect(logTimeToIso('')).toBeUndefined();
    expect(logTimeToIso('not a time')).toBeUndefined();
  });
});
