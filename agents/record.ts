import { epochToMs, type Severity } from '../protocol/index.js';

/**
 * What an input makes of one log entry before the shipper stamps it with id, time and origin.
 * Unset parts take the shipper's defaults (`--facility`, `--severity`, this host and process).
 */
export interface ParsedRecord {
  msg: string;
  /** Already a valid facility (callers validate or drop what is not). */
  facility?: string;
  severity?: Severity;
  /** ISO 8601. */
  ts?: string;
  host?: string;
  app?: string;
  pid?: number;
  fields?: Record<string, unknown>;
}

/** Milliseconds since the epoch, a numeric string of them, or an ISO date, as ISO 8601; undefined if unreadable. */
export function toIsoTime(value: unknown): string | undefined {
  let date: Date;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    date = new Date(epochToMs(value));
  } else if (typeof value === 'string' && value !== '') {
    date = new Date(/^\d+(\.\d+)?$/.test(value) ? epochToMs(Number(value)) : value);
  } else {
    return undefined;
  }
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
