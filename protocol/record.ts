import { ErrorCodes, WarrenError } from './errors.js';
import { isPlainObject } from './json.js';
import { isFacility, readRoutingKey, type RoutingKey } from './routing-key.js';
import { normalizeSeverity, type Severity } from './severity.js';
import { amqpTimestampToIso, bodyTsToIso } from './timestamp.js';

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
  if (typeof body.msg !== 'string') {
    return {
      raw: JSON.stringify(body),
      reason: body.msg === undefined ? 'record has no "msg"' : '"msg" is not a string',
    };
  }
  const bodyFacility = typeof body.facility === 'string' ? body.facility.toLowerCase() : undefined;
  const bodySeverity = typeof body.severity === 'string' ? normalizeSeverity(body.severity) : undefined;
  const record: StoredRecord = {
    id: typeof body.id === 'string' && body.id !== '' ? body.id : fallbackId,
    ts: bodyTsToIso(body.ts, fallbackTs),
    facility:
      fromKey.facility ??
      (bodyFacility !== undefined && isFacility(bodyFacility) ? bodyFacility : DEFAULT_FACILITY),
    severity: fromKey.severity ?? bodySeverity ?? DEFAULT_SEVERITY,
    msg: body.msg,
    routing_key: routingKey,
  };
  if (typeof body.host === 'string') record.host = body.host;
  if (typeof body.app === 'string') record.app = body.app;
  if (typeof body.pid === 'number' && Number.isInteger(body.pid)) record.pid = body.pid;
  if (isPlainObject(body.fields) && Object.keys(body.fields).length > 0) record.fields = body.fields;
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
      else records.push(result);
      index++;
    }
    return { records, rejected };
  }

  // A foreign publisher's plain text: the whole body is the message (CONTRACT §4).
  const plain = resolveRecord(
    { msg: text.replace(/\r?\n$/, '') },
    { routingKey: message.routingKey, fallbackTs: arrival, fallbackId: idFor(0), fromKey },
  );
  if (isRejected(plain)) rejected.push(plain);
  else records.push(plain);
  return { records, rejected };
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
