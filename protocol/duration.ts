import { ErrorCodes, WarrenError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** `15m`, `2h`, `7d`, `1h30m` → milliseconds; anything else is a usage error. */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (!DURATION.test(text)) {
    throw new WarrenError(ErrorCodes.BAD_DURATION, `invalid duration '${input}'`, {
      hint: 'use a number with a unit: ms, s, m, h, d or w (e.g. 30s, 15m, 2h, 7d, 1h30m)',
      context: { input },
    });
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  }
  return total;
}

/** A point in time given as ISO 8601 (`2026-11-21T10:00:00Z`) or as a duration ago (`15m`). */
export function parseTimeOrDuration(input: string, now: Date = new Date()): Date {
  const text = input.trim();
  if (DURATION.test(text)) return new Date(now.getTime() - parseDuration(text));
  // ISO 8601 dates only: Date.parse also takes 'March 7' and other guesses we'd rather refuse.
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const date = new Date(text);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new WarrenError(ErrorCodes.BAD_DURATION, `invalid time '${input}'`, {
    hint: 'use ISO 8601 (2026-11-21T22:00:00Z) or a duration ago (15m, 2h, 7d)',
    context: { input },
  });
}
