import type { Severity } from '../protocol/index.js';

/**
 * What an input makes of one log entry before the shipper stamps it with time and origin (its id
 * comes from its batch's message id).
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
  /**
   * Received from another program (syslog relay): what it leaves out of host, app and pid stays
   * out, since the shipper's own host, app and pid are not its origin.
   */
  relayed?: true;
}
