import { ErrorCodes, parseTimeOrDuration, WarrenError } from '../../protocol/index.js';

/** A time window from the query string, ms since the epoch: since inclusive, until exclusive. */
export interface TimeWindow {
  since: number | undefined;
  until: number | undefined;
}

/**
 * Reads `since` and `until` (ISO 8601 or a duration ago) and refuses a window that ends before it
 * starts: the one place both /api/logs and /api/stats check it.
 */
export function parseWindow(since: string | undefined, until: string | undefined, now: Date): TimeWindow {
  const window: TimeWindow = {
    since: since === undefined ? undefined : parseTimeOrDuration(since, now).getTime(),
    until: until === undefined ? undefined : parseTimeOrDuration(until, now).getTime(),
  };
  if (window.since !== undefined && window.until !== undefined && window.since >= window.until) {
    throw new WarrenError(ErrorCodes.BAD_REQUEST, `since (${since}) is not before until (${until})`, {
      hint: 'since is the start of the window and until its end',
    });
  }
  return window;
}
