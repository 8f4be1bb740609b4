import { isPlainObject, readJsonRecord } from '../../protocol/index.js';
import type { ParsedRecord } from '../record.js';

/**
 * Reads a JSON log line (pino, bunyan, winston, ECS, … — protocol's one JSON record reader) into a
 * record; undefined when the line is not a JSON object, so the caller ships it as plain text instead
 * (a JSON array, number or string is just text to an operator).
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
  const parts = readJsonRecord(obj);
  const record: ParsedRecord = {
    msg: parts.msg ?? (parts.msgNotText === undefined ? raw : JSON.stringify(parts.msgNotText.value)),
  };
  if (parts.severity !== undefined) record.severity = parts.severity;
  if (parts.ts !== undefined) record.ts = parts.ts;
  if (parts.host !== undefined) record.host = parts.host;
  if (parts.app !== undefined) record.app = parts.app;
  if (parts.pid !== undefined) record.pid = parts.pid;
  if (parts.facility !== undefined) record.facility = parts.facility;
  // The agent stamps its own record ids: an application's `id` is one of its fields.
  const fields = parts.id === undefined ? parts.fields : { ...parts.fields, id: parts.id };
  if (fields !== undefined) record.fields = fields;
  return record;
}
