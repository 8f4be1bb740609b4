import { ErrorCodes, WarrenError } from './errors.js';
import { isPlainObject } from './json.js';
import { readJsonRecord } from './json-record.js';
import { fromSyslogNg, isSyslogNgObject } from './syslog-ng.js';
import { readRoutingKey, type RoutingKey } from './routing-key.js';
import type { Severity } from './severity.js';
import { amqpTimestampToIso } from './timestamp.js';

/** A log record on the wire (CONTRACT §4). Only `msg` is required of a publisher. */
export interface LogRecord {
  id?: string;
  ts?: string;
  facility?: string;
  severity?: string;
  host?: string;
  app?: string;
  pid?: number;
  msg: string;
  fields?: Record<string, unknown>;
}

/** A record as the collector stores and serves it: every field resolved, plus the key it was routed with. */
export interface StoredRecord {
  /** Dedupe key; null when neither the record nor its message carried one. */
  id: string | null;
  ts: string;
  facility: string;
  severity: Severity;
  host?: string;
  app?: string;
  pid?: number;
  msg: string;
  fields?: Record<string, unknown>;
  routing_key: string;
}

export const CONTENT_TYPE_JSON = 'application/json';
export const CONTENT_TYPE_NDJSON = 'application/x-ndjson';

/** Where a record cannot be read: the raw text and why, for `logs.dead` and `x-warren-error`. */
export interface Rejected {
  raw: string;
  reason: string;
}

export interface DecodeResult {
  records: StoredRecord[];
  rejected: Rejected[];
}

/** The parts of an AMQP message the codec reads (`decodeDelivery` adapts an amqplib delivery). */
export interface IncomingMessage {
  routingKey: string;
  content: Buffer;
  contentType?: string | undefined;
  messageId?: string | undefined;
  /** AMQP timestamp: seconds by the spec, milliseconds from some clients; both are accepted. */
  timestamp?: number | undefined;
  /** AMQP headers (syslog-ng puts what it knows of a message there). */
  headers?: Record<string, unknown> | undefined;
}

/**
 * How far ahead of the collector's clock a record's time may be. Further ahead, a wrong clock would
 * pin the record at the top of every newest-first query: it is stored at its arrival, and the time
 * it said is kept in `fields.original_ts` (CONTRACT §4).
 */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** A record from a clock too far ahead, re-timed at its arrival `now` with what it said kept. */
function guardClock(record: StoredRecord, now: Date, limitIso: string): StoredRecord {
  // Canonical ISO times (24 characters, 4-digit years) compare as text: no parse on the hot path.
  if (
    record.ts.length === limitIso.length
      ? record.ts <= limitIso
      : Date.parse(record.ts) <= Date.parse(limitIso)
  )
    return record;
  record.fields = { ...record.fields, original_ts: record.ts };
  record.ts = now.toISOString();
  return record;
}

/** Fallbacks when neither the routing key nor the body says. */
const DEFAULT_FACILITY = 'unknown';
const DEFAULT_SEVERITY: Severity = 'notice';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the message around a body says, for what the body itself leaves out. */
export interface RecordContext {
  routingKey: string;
  /** The message's arrival time, for a body without a readable `ts`. */
  fallbackTs: string;
  /** The dedupe key derived from the message id, for a body without an `id`. */
  fallbackId: string | null;
  /** The routing key already read (once per message); read from `routingKey` when absent. */
  fromKey?: Partial<RoutingKey>;
}

/**
 * Resolves one parsed body into a stored record. The routing key wins over the body's facility and
 * severity because it is what was routed (CONTRACT §4); what the key does not say comes from the body.
 */
export function resolveRecord(body: unknown, context: RecordContext): StoredRecord | Rejected {
  const { routingKey, fallbackTs, fallbackId } = context;
  const fromKey = context.fromKey ?? readRoutingKey(routingKey);
  if (!isPlainObject(body)) {
    return { raw: JSON.stringify(body) ?? String(body), reason: 'record is not a JSON object' };
  }
  const parts = readJsonRecord(body);
  if (parts.msg === undefined) {
    return {
      raw: JSON.stringify(body),
      reason:
        parts.msgNotText === undefined ? 'record has no "msg"' : `"${parts.msgNotText.key}" is not a string`,
    };
  }
  const record: StoredRecord = {
    id: parts.id ?? fallbackId,
    ts: parts.ts ?? fallbackTs,
    facility: fromKey.facility ?? parts.facility ?? DEFAULT_FACILITY,
    severity: fromKey.severity ?? parts.severity ?? DEFAULT_SEVERITY,
    msg: parts.msg,
    routing_key: routingKey,
  };
  if (parts.host !== undefined) record.host = parts.host;
  if (parts.app !== undefined) record.app = parts.app;
  if (parts.pid !== undefined) record.pid = parts.pid;
  if (parts.fields !== undefined) record.fields = parts.fields;
  return record;
}

function isRejected(value: StoredRecord | Rejected): value is Rejected {
  return 'reason' in value;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** `application/x-ndjson; charset=utf-8` → `application/x-ndjson`; '' when there is none. */
export function baseContentType(contentType: unknown): string {
  if (typeof contentType !== 'string') return '';
  return contentType.split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Decodes one AMQP message into records (CONTRACT §4): JSON is one record, NDJSON one per line,
 * anything else is plain text. Bad parts are returned as rejected with a reason, never thrown, so
 * one bad line costs that line only.
 */
export function decodeMessage(message: IncomingMessage, now: Date = new Date()): DecodeResult {
  const arrival = amqpTimestampToIso(message.timestamp, now);
  const limitIso = new Date(now.getTime() + MAX_CLOCK_AHEAD_MS).toISOString();
  const records: StoredRecord[] = [];
  const rejected: Rejected[] = [];
  let text: string;
  try {
    text = utf8.decode(message.content);
  } catch {
    return {
      records,
      rejected: [{ raw: message.content.toString('latin1'), reason: 'body is not valid UTF-8' }],
    };
  }
  const idFor = (index: number): string | null =>
    message.messageId === undefined || message.messageId === '' ? null : `${message.messageId}:${index}`;
  const type = baseContentType(message.contentType);
  // Every record of a message shares its routing key: read it once, not once per NDJSON line.
  const fromKey = readRoutingKey(message.routingKey);

  if (type === CONTENT_TYPE_JSON || type === CONTENT_TYPE_NDJSON) {
    const lines = type === CONTENT_TYPE_JSON ? [text] : text.split('\n');
    let index = 0;
    for (const line of lines) {
      if (type === CONTENT_TYPE_NDJSON && line.trim() === '') continue;
      const parsed = parseJson(line);
      const result = parsed.ok
        ? resolveRecord(parsed.value, {
            routingKey: message.routingKey,
            fallbackTs: arrival,
            fallbackId: idFor(index),
            fromKey,
          })
        : { raw: line, reason: parsed.reason };
      if (isRejected(result)) rejected.push(result);
      else records.push(guardClock(result, now, limitIso));
      index++;
    }
    return { records, rejected };
  }

  const context = { routingKey: message.routingKey, fallbackTs: arrival, fallbackId: idFor(0), fromKey };
  const plain = resolveRecord(plainBody(text, message.headers, now), context);
  if (isRejected(plain)) rejected.push(plain);
  else records.push(guardClock(plain, now, limitIso));
  return { records, rejected };
}

/**
 * A body without a JSON content type (CONTRACT §4), as a record object: one JSON object is read as a
 * record (syslog-ng's `format-json` cannot set a content type), anything else is the message text;
 * syslog-ng's headers (HOST, PROGRAM, PID, DATE, …) say what the body does not.
 */
function plainBody(text: string, headers: Record<string, unknown> | undefined, now: Date): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    const parsed = parseJson(trimmed);
    if (parsed.ok && isPlainObject(parsed.value)) {
      const body = isSyslogNgObject(parsed.value) ? fromSyslogNg(parsed.value, now) : parsed.value;
      // JSON with no message is text with fields, as the agent reads such a line.
      const hasMessage = 'msg' in body || 'message' in body || 'log' in body;
      return hasMessage ? body : { fields: body, msg: trimmed };
    }
  }
  const msg = text.replace(/\r?\n$/, '');
  if (headers === undefined || !isSyslogNgObject(headers)) return { msg };
  const fromHeaders = fromSyslogNg(headers, now);
  // The body is the message when there is one: syslog-ng's default body is empty (text in MESSAGE).
  return msg === '' ? fromHeaders : { ...fromHeaders, msg };
}

/** One record as an `application/json` body. */
export function encodeRecord(record: LogRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

/** Several records (all with the same routing key) as one `application/x-ndjson` body. */
export function encodeBatch(records: readonly LogRecord[]): Buffer {
  if (records.length === 0) {
    throw new WarrenError(ErrorCodes.BAD_RECORD, 'cannot encode an empty batch');
  }
  return ndjsonBody(records.map((r) => JSON.stringify(r)));
}

/**
 * Already-encoded JSON lines as one `application/x-ndjson` body, each line ended by a newline; the
 * agent frames its hand-built lines with it too. It takes `lines` over (appends '' to them): a
 * copied array or a `+ '\n'` on the joined text measurably slows the agent's hot path.
 */
export function ndjsonBody(lines: string[]): Buffer {
  lines.push('');
  return Buffer.from(lines.join('\n'), 'utf8');
}
