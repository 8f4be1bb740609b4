import type { Severity } from '../protocol/index.js';

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
