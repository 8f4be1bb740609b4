import {
  isFacility,
  isPlainObject,
  severityFromPinoLevel,
  logTimeToIso,
  type Severity,
} from '../../protocol/index.js';
import type { ParsedRecord } from '../record.js';

/** Keys of pino/bunyan lines that become record parts rather than fields. */
const CONSUMED = new Set([
  'level',
  'severity',
  'time',
  'ts',
  'timestamp',
  '@timestamp',
  'msg',
  'message',
  'hostname',
  'host',
  'pid',
  'name',
  'app',
  'v',
  'facility',
]);

function severityOf(obj: Record<string, unknown>): Severity | undefined {
  const level = obj.level ?? obj.severity;
  if (typeof level === 'number' || typeof level === 'string') return severityFromPinoLevel(level);
  return undefined;
}

/**
 * Reads a JSON log line (pino, bunyan, or any `{"level":..,"msg":..}`) into a record; undefined
 * when the line is not a JSON object, so the caller ships it as plain text instead (a JSON array,
 * number or string is just text to an operator).
 */
export function parseJsonLine(text: string): ParsedRecord | undefined {
  // Cheap pre-check: JSON.parse on every plain line would cost more than the rest of the pipeline.
  const first = text.charCodeAt(0) === 0x7b ? 0 : text.search(/\S/);
  if (first < 0 || text.charCodeAt(first) !== 0x7b) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  return fromJsonObject(value, text);
}

/** A parsed log object as a record; `raw` is the message when the object carries none. */
export function fromJsonObject(obj: Record<string, unknown>, raw: string): ParsedRecord {
  const message = obj.msg ?? obj.message;
  const record: ParsedRecord = {
    msg: typeof message === 'string' ? message : message === undefined ? raw : JSON.stringify(message),
  };
  const severity = severityOf(obj);
  if (severity !== undefined) record.severity = severity;
  const ts = logTimeToIso(obj.time ?? obj.ts ?? obj.timestamp ?? obj['@timestamp']);
  if (ts !== undefined) record.ts = ts;
  const host = obj.hostname ?? obj.host;
  if (typeof host === 'string' && host !== '') record.host = host;
  const app = obj.app ?? obj.name;
  if (typeof app === 'string' && app !== '') record.app = app;
  if (typeof obj.pid === 'number' && Number.isInteger(obj.pid)) record.pid = obj.pid;
  if (typeof obj.facility === 'string') {
    const facility = obj.facility.toLowerCase();
    if (isFacility(facility)) record.facility = facility;
  }
  let fields: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (CONSUMED.has(key)) continue;
    fields ??= {};
    fields[key] = obj[key];
  }
  // A level no table knows ("verbose") is kept as a field rather than lost.
  const level = obj.level ?? obj.severity;
  if (severity === undefined && level !== undefined) {
    fields ??= {};
    fields.level = level;
  }
  if (fields !== undefined) record.fields = fields;
  return record;
}
