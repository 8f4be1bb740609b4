import { facilityFromName, normalizeSeverity, type Severity } from '../../../protocol/index.js';

/**
 * The mapping every door shares (CONTRACT §5, "Ingest doors"): a service or stream name becomes a
 * facility by the routing-key rules, a level name or number becomes one of the eight severities.
 */

/** A service name (`checkout-api`, `@acme/billing`) as a facility; nothing usable: undefined (the --facility default). */
export function facilityOf(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') return undefined;
  const facility = facilityFromName(name, '');
  return facility === '' ? undefined : facility;
}

/** A level name in any spelling senders use (`WARN`, `Error`, `fatal`, `information`, `trace`). */
export function severityOfText(text: unknown): Severity | undefined {
  if (typeof text !== 'string') return undefined;
  const word = text.trim().toLowerCase();
  if (word === 'information' || word === 'informational') return 'info';
  if (word === 'dbg') return 'debug';
  return normalizeSeverity(word);
}

/**
 * OpenTelemetry's SeverityNumber (1-24, four per level): TRACE and DEBUG → debug, INFO → info,
 * WARN → warning, ERROR → error, FATAL → critical. 0 (unspecified) and out of range: undefined.
 */
export function severityOfOtelNumber(n: number): Severity | undefined {
  if (!Number.isInteger(n) || n < 1 || n > 24) return undefined;
  if (n <= 8) return 'debug';
  if (n <= 12) return 'info';
  if (n <= 16) return 'warning';
  if (n <= 20) return 'error';
  return 'critical';
}

const LOGFMT_LEVEL = /(?:^|\s)(?:level|lvl|severity)=("?)([A-Za-z]+)\1(?:\s|$)/;
const LEADING_LEVEL =
  /^\s*[[(]?(trace|debug|dbg|info|information|notice|warn|warning|error|err|crit|critical|fatal|alert|emerg|emergency|panic)[\])]?[\s:|-]/i;

/** A level written in the line itself: `level=error` (logfmt) or a leading `ERROR`, `[warn]`. */
export function severityInLine(line: string): Severity | undefined {
  const logfmt = LOGFMT_LEVEL.exec(line);
  if (logfmt !== null) return severityOfText(logfmt[2]);
  const leading = LEADING_LEVEL.exec(line);
  return leading === null ? undefined : severityOfText(leading[1]);
}

const YEAR_1971_MS = Date.UTC(1971, 0, 1);
const YEAR_10000_MS = Date.UTC(10000, 0, 1);

/** Nanoseconds since the epoch (a decimal string or number) as ISO 8601 in ms; 0, absent or absurd: undefined. */
export function isoFromNanos(nanos: unknown): string | undefined {
  let text: string;
  if (typeof nanos === 'string') text = nanos.trim();
  else if (typeof nanos === 'number' && Number.isFinite(nanos)) text = BigInt(Math.trunc(nanos)).toString();
  else if (typeof nanos === 'bigint') text = nanos.toString();
  else return undefined;
  if (!/^\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  if (value === 0n) return undefined;
  const ms = Number(value / 1_000_000n);
  // Before 1971 or after 9999: a unit mistake (seconds or ms sent as ns), not a time.
  if (ms < YEAR_1971_MS || ms >= YEAR_10000_MS) return undefined;
  // Records keep milliseconds (CONTRACT §4); finer digits are dropped.
  return isoOfMs(ms);
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * Epoch milliseconds (an integer from 1971 to 9999) as ISO 8601, as `new Date(ms).toISOString()`
 * writes it; the date and time up to the second are computed once per second, since the records of
 * a request are mostly of the same second (toISOString cost a quarter of OTLP mapping).
 */
export function isoOfMs(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${cachedPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}
