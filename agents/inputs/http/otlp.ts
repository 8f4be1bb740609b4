import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorMessage } from '../../../protocol/index.js';
import type { ParsedRecord } from '../../record.js';
import { capMessage, fieldsFit, nestDotted } from './fields.js';
import { facilityOf, isoFromNanos, isoOfMs, severityOfOtelNumber, severityOfText } from './mapping.js';
import { encodeMessage, ExportLogsServiceRequest, ExportLogsServiceResponse, RpcStatus } from './proto.js';
import type { Outcome } from './ack.js';
import { RequestError, type Door, type DoorContext } from './receiver.js';

type Json = Record<string, unknown>;

/** One log record of either encoding, read into the shape the mapping works on. */
export interface OtlpLog {
  timeMs: number | undefined;
  observedMs: number | undefined;
  severityNumber: number;
  severityText: string | undefined;
  /** The body as plain data (undefined when absent). */
  body: unknown;
  attributes: Json;
  traceId: string | undefined;
  spanId: string | undefined;
  eventName: string | undefined;
}

export interface OtlpResourceLogs {
  attributes: Json;
  scopes: { name: string | undefined; logs: OtlpLog[] }[];
}

/** A 64-bit integer as protobufjs decodes it (long.js). */
interface Long {
  low: number;
  high: number;
  unsigned: boolean;
  toNumber(): number;
  toString(): string;
}

function isLong(value: unknown): value is Long {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

/** Nanoseconds (a Long, a decimal string or a number) as epoch milliseconds; 0 or absurd: undefined. */
function msFromNanos(value: unknown): number | undefined {
  if (isLong(value)) {
    const ms = Math.floor(value.toNumber() / 1e6);
    return ms > 0 ? ms : undefined;
  }
  const iso = isoFromNanos(value);
  return iso === undefined ? undefined : Date.parse(iso);
}

/** An int64 as a number when exact, else its decimal string. */
function int64(value: unknown): number | string {
  if (isLong(value)) {
    const n = value.toNumber();
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : String(value);
}

/** trace_id / span_id: protobuf bytes or OTLP/JSON hex, as lowercase hex; all zeros or empty: none. */
function hexId(value: unknown): string | undefined {
  const hex =
    value instanceof Uint8Array
      ? Buffer.from(value).toString('hex')
      : typeof value === 'string'
        ? value.toLowerCase()
        : '';
  return /^[0-9a-f]+$/.test(hex) && /[^0]/.test(hex) ? hex : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// ---- protobuf: the decoded messages, read directly (toObject would copy every field first) ----

/** An AnyValue as decoded: only the member sent on the wire is an own property (the rest are prototype defaults). */
interface PbAnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: unknown;
  double_value?: number;
  array_value?: { values: PbAnyValue[] } | null;
  kvlist_value?: { values: PbKeyValue[] } | null;
  bytes_value?: Uint8Array;
}
interface PbKeyValue {
  key: string;
  value: PbAnyValue | null;
}
interface PbLogRecord {
  time_unix_nano: unknown;
  observed_time_unix_nano: unknown;
  severity_number: number;
  severity_text: string;
  body: PbAnyValue | null;
  attributes: PbKeyValue[];
  trace_id: Uint8Array;
  span_id: Uint8Array;
  event_name: string;
}
interface PbRequest {
  resource_logs: {
    resource: { attributes: PbKeyValue[] } | null;
    scope_logs: { scope: { name: string } | null; log_records: PbLogRecord[] }[];
  }[];
}

/**
 * An AnyValue message as plain data: the member that was sent. The schema declares AnyValue's
 * members `optional` instead of in their oneof (the same wire format), so the member is found by
 * presence: protobufjs sets a oneof's virtual field through a setter that deletes every other
 * member, which took a fifth of the decoding time.
 */
function pbAnyValue(v: PbAnyValue | null | undefined): unknown {
  if (v === null || v === undefined) return undefined;
  if (Object.hasOwn(v, 'string_value')) return v.string_value;
  if (Object.hasOwn(v, 'int_value')) return int64(v.int_value);
  if (Object.hasOwn(v, 'bool_value')) return v.bool_value;
  if (Object.hasOwn(v, 'double_value')) return v.double_value;
  if (Object.hasOwn(v, 'kvlist_value')) return pbKeyValues(v.kvlist_value?.values ?? []);
  if (Object.hasOwn(v, 'array_value')) return (v.array_value?.values ?? []).map(pbAnyValue);
  if (Object.hasOwn(v, 'bytes_value')) return Buffer.from(v.bytes_value ?? []).toString('base64');
  return undefined;
}

function pbKeyValues(values: readonly PbKeyValue[]): Json {
  const out: Json = {};
  for (const kv of values) if (kv.key !== '') out[kv.key] = pbAnyValue(kv.value);
  return out;
}

/** A protobuf ExportLogsServiceRequest, decoded. */
export function fromOtlpProtobuf(bytes: Uint8Array): OtlpResourceLogs[] {
  const request = ExportLogsServiceRequest.decode(bytes) as unknown as PbRequest;
  return request.resource_logs.map((rl) => ({
    attributes: pbKeyValues(rl.resource?.attributes ?? []),
    scopes: rl.scope_logs.map((sl) => ({
      name: text(sl.scope?.name),
      logs: sl.log_records.map((log): OtlpLog => ({
        timeMs: msFromNanos(log.time_unix_nano),
        observedMs: msFromNanos(log.observed_time_unix_nano),
        severityNumber: log.severity_number,
        severityText: text(log.severity_text),
        body: pbAnyValue(log.body),
        attributes: pbKeyValues(log.attributes),
        traceId: hexId(log.trace_id),
        spanId: hexId(log.span_id),
        eventName: text(log.event_name),
      })),
    })),
  }));
}

// ---- OTLP/JSON: lowerCamelCase as the specification writes it (snake_case accepted too) ----

const CAMEL = new Map<string, string>();

/** A field by its lowerCamelCase name, or its proto name. */
function get(obj: unknown, snake: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as Json;
  let camel = CAMEL.get(snake);
  if (camel === undefined)
    CAMEL.set(snake, (camel = snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())));
  return o[camel] ?? o[snake];
}

/** An OTLP/JSON AnyValue as plain data. */
export function anyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  let raw: unknown;
  if ((raw = get(value, 'string_value')) !== undefined) return raw;
  if ((raw = get(value, 'bool_value')) !== undefined) return raw;
  if ((raw = get(value, 'int_value')) !== undefined) return int64(raw);
  if ((raw = get(value, 'double_value')) !== undefined) return raw;
  if ((raw = get(value, 'array_value')) !== undefined) return list(get(raw, 'values')).map(anyValue);
  if ((raw = get(value, 'kvlist_value')) !== undefined) return keyValues(get(raw, 'values'));
  if ((raw = get(value, 'bytes_value')) !== undefined) return raw;
  return undefined;
}

function keyValues(values: unknown): Json {
  const out: Json = {};
  for (const kv of list(values)) {
    const key = get(kv, 'key');
    if (typeof key === 'string' && key !== '') out[key] = anyValue(get(kv, 'value'));
  }
  return out;
}

/** An OTLP/JSON ExportLogsServiceRequest, parsed. */
export function fromOtlpJson(request: Json): OtlpResourceLogs[] {
  return list(get(request, 'resource_logs')).map((rl) => ({
    attributes: keyValues(get(get(rl, 'resource'), 'attributes')),
    scopes: list(get(rl, 'scope_logs')).map((sl) => ({
      name: text(get(get(sl, 'scope'), 'name')),
      logs: list(get(sl, 'log_records')).map((log): OtlpLog => ({
        timeMs: msFromNanos(get(log, 'time_unix_nano')),
        observedMs: msFromNanos(get(log, 'observed_time_unix_nano')),
        severityNumber: Number(get(log, 'severity_number') ?? 0),
        severityText: text(get(log, 'severity_text')),
        body: anyValue(get(log, 'body')),
        attributes: keyValues(get(log, 'attributes')),
        traceId: hexId(get(log, 'trace_id')),
        spanId: hexId(get(log, 'span_id')),
        eventName: text(get(log, 'event_name')),
      })),
    })),
  }));
}

/** Resource attributes that become the record's own columns rather than fields. */
const RESOURCE_COLUMNS = new Set(['service.name', 'host.name', 'process.pid']);

export interface OtlpResult {
  records: ParsedRecord[];
  rejected: number;
  reason: string | undefined;
}

/** No fields (shared, never written to: nestDotted only reads the map it takes). */
const NO_FIELDS: Json = Object.freeze({});

/** The message of a body: a string as it is, a kvlist's `message`/`msg` (the rest → fields), anything else as JSON. */
function bodyMessage(body: unknown, eventName: string | undefined): { msg: string; fields: Json } {
  if (typeof body === 'string') return { msg: body, fields: NO_FIELDS };
  if (body === undefined) return { msg: eventName ?? '', fields: NO_FIELDS };
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const { message, msg: short, ...rest } = body as Json;
    const said = typeof message === 'string' ? message : typeof short === 'string' ? short : undefined;
    return said === undefined
      ? { msg: JSON.stringify(body), fields: NO_FIELDS }
      : { msg: said, fields: rest };
  }
  return {
    msg: typeof body === 'number' || typeof body === 'boolean' ? String(body) : JSON.stringify(body),
    fields: NO_FIELDS,
  };
}

/**
 * OTLP logs as records: service.name → facility and app, host.name → host, process.pid → pid,
 * severity_number (else severity_text) → severity, body → msg (a kvlist body: its
 * `message`/`msg` → msg, the rest → fields), attributes and the other resource attributes →
 * fields, trace_id/span_id/event_name and the scope's name → fields, time (else observed) → ts.
 */
export function otlpRecords(resources: readonly OtlpResourceLogs[], maxLineBytes: number): OtlpResult {
  const records: ParsedRecord[] = [];
  let rejected = 0;
  for (const resource of resources) {
    const service = resource.attributes['service.name'];
    const facility = facilityOf(service);
    const host = resource.attributes['host.name'];
    const pid = resource.attributes['process.pid'];
    const resourceFields: Json = {};
    for (const [key, value] of Object.entries(resource.attributes))
      if (!RESOURCE_COLUMNS.has(key)) resourceFields[key] = value;
    // Nested once per resource; each record starts from a shallow copy (nestDotted copies a nested
    // object before writing into it, so the resource's own stay untouched).
    const resourceNested = nestDotted(resourceFields);
    const resourceHasFields = Object.keys(resourceNested).length > 0;
    for (const scope of resource.scopes) {
      const scopeField = scope.name === undefined ? undefined : { 'otel.scope': scope.name };
      for (const log of scope.logs) {
        const { msg, fields: bodyFields } = bodyMessage(log.body, log.eventName);
        // One object: later maps win (attributes over body over resource).
        const fields = nestDotted(
          log.attributes,
          nestDotted(bodyFields, resourceHasFields ? { ...resourceNested } : {}),
        );
        if (log.traceId !== undefined) fields.trace_id = log.traceId;
        if (log.spanId !== undefined) fields.span_id = log.spanId;
        if (log.eventName !== undefined && log.body !== undefined) fields.event_name = log.eventName;
        if (scopeField !== undefined) nestDotted(scopeField, fields);
        const severity = severityOfOtelNumber(log.severityNumber) ?? severityOfText(log.severityText);
        // The record's time if it is one, else when the SDK or Collector observed it.
        const ms = plausibleMs(log.timeMs) ?? plausibleMs(log.observedMs);
        const record: ParsedRecord = { msg, relayed: true };
        if (facility !== undefined) record.facility = facility;
        if (typeof service === 'string' && service !== '') record.app = service;
        if (typeof host === 'string' && host !== '') record.host = host;
        if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) record.pid = pid;
        if (severity !== undefined) record.severity = severity;
        if (ms !== undefined) record.ts = isoOfMs(ms);
        for (const _ in fields) {
          record.fields = fields;
          break;
        }
        const capped = capMessage(record, maxLineBytes);
        if (!fieldsFit(capped, maxLineBytes)) {
          rejected++;
          continue;
        }
        records.push(capped);
      }
    }
  }
  return {
    records,
    rejected,
    reason:
      rejected === 0
        ? undefined
        : `${rejected} log records had attributes over ${maxLineBytes} bytes (logship --max-line)`,
  };
}

const YEAR_1971_MS = Date.UTC(1971, 0, 1);
const YEAR_10000_MS = Date.UTC(10000, 0, 1);

/** A time in ms if it can be one: before 1971 is a unit mistake (seconds or ms sent as ns). */
function plausibleMs(ms: number | undefined): number | undefined {
  return ms !== undefined && ms >= YEAR_1971_MS && ms < YEAR_10000_MS ? ms : undefined;
}

type Encoding = 'protobuf' | 'json';

/** The google.rpc.Code for an HTTP status: 429 RESOURCE_EXHAUSTED, 401 UNAUTHENTICATED, other 4xx INVALID_ARGUMENT, 5xx UNAVAILABLE. */
export function grpcCode(status: number): number {
  if (status === 429) return 8;
  if (status === 401) return 16;
  if (status >= 400 && status < 500) return 3;
  return 14;
}

function encodingOf(request: FastifyRequest): Encoding | undefined {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

/** OTLP/HTTP logs: `POST /v1/logs`, protobuf or JSON, answered as the OTLP specification says. */
export const otlpDoor: Door = {
  name: 'otlp',
  register(app, context: DoorContext) {
    const answer = async (
      reply: FastifyReply,
      encoding: Encoding,
      status: number,
      body: { partial?: { rejected: number; message: string }; error?: string },
    ): Promise<void> => {
      context.answered('otlp', status);
      if (status === 200) {
        const partial =
          body.partial === undefined
            ? {}
            : {
                partial_success: {
                  rejected_log_records: body.partial.rejected,
                  error_message: body.partial.message,
                },
              };
        if (encoding === 'protobuf') {
          await reply
            .code(200)
            .type('application/x-protobuf')
            .send(encodeMessage(ExportLogsServiceResponse, partial));
        } else {
          const json =
            body.partial === undefined
              ? {}
              : {
                  partialSuccess: {
                    rejectedLogRecords: String(body.partial.rejected),
                    errorMessage: body.partial.message,
                  },
                };
          await reply.code(200).type('application/json').send(json);
        }
        return;
      }
      // Errors carry a google.rpc.Status in the request's encoding, its code the gRPC one OTLP pairs with the HTTP status.
      const status_ = { code: grpcCode(status), message: body.error ?? '' };
      if (encoding === 'protobuf')
        await reply.code(status).type('application/x-protobuf').send(encodeMessage(RpcStatus, status_));
      else await reply.code(status).type('application/json').send(status_);
    };

    app.post('/v1/logs', async (request, reply) => {
      const encoding = encodingOf(request);
      if (encoding === undefined) {
        context.answered('otlp', 415);
        await reply
          .code(415)
          .type('text/plain; charset=utf-8')
          .send(
            `content-type '${String(request.headers['content-type'] ?? '')}' is not OTLP: send application/x-protobuf or application/json`,
          );
        return;
      }
      let resources: OtlpResourceLogs[];
      try {
        const body = await context.body(request);
        if (encoding === 'protobuf') resources = fromOtlpProtobuf(body);
        else {
          const parsed: unknown = JSON.parse(body.toString('utf8'));
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            throw new RequestError(400, 'an OTLP/JSON body is an object with resourceLogs');
          resources = fromOtlpJson(parsed as Json);
        }
      } catch (err) {
        const status = err instanceof RequestError ? err.status : 400;
        await answer(reply, encoding, status, {
          error: `cannot read the OTLP ${encoding} body: ${errorMessage(err)}`,
        });
        return;
      }
      const { records, rejected, reason } = otlpRecords(resources, context.maxLineBytes);
      // Nothing of the request is referenced across the wait but the counts: its decoded messages
      // and records die young instead of being promoted while the broker confirms.
      const outcome: Outcome = await context.receive('otlp', records);
      if (outcome.kind === 'busy') {
        reply.header('retry-after', String(outcome.retryAfterS));
        await answer(reply, encoding, outcome.status, { error: outcome.reason });
        return;
      }
      await answer(
        reply,
        encoding,
        200,
        reason === undefined ? {} : { partial: { rejected, message: reason } },
      );
    });
  },
};
