import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorMessage } from '../../../protocol/index.js';
import type { ParsedRecord } from '../../record.js';
import { capMessage, fieldBytes, nestDotted } from './fields.js';
import { facilityOf, isoFromNanos, severityOfOtelNumber, severityOfText } from './mapping.js';
import {
  decodeToObject,
  encodeMessage,
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
  RpcStatus,
} from './proto.js';
import { RequestError, type Door, type DoorContext, type Outcome } from './receiver.js';

type Json = Record<string, unknown>;

/** A field in either OTLP encoding: protobuf's snake_case or OTLP/JSON's lowerCamelCase. */
function get(obj: unknown, snake: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as Json;
  if (snake in o) return o[snake];
  return o[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An AnyValue as plain data: kvlists as objects, arrays as arrays, bytes as base64, 64-bit ints as numbers when exact. */
export function anyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Json;
  for (const [key, read] of [
    ['string_value', (x: unknown) => x],
    ['bool_value', (x: unknown) => x],
    ['double_value', (x: unknown) => x],
    [
      'int_value',
      (x: unknown) => {
        const n = Number(x);
        return Number.isSafeInteger(n) ? n : String(x);
      },
    ],
    ['array_value', (x: unknown) => list(get(x, 'values')).map(anyValue)],
    ['kvlist_value', (x: unknown) => keyValues(get(x, 'values'))],
    ['bytes_value', (x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)],
  ] as const) {
    const raw = get(v, key);
    if (raw !== undefined && raw !== null) return read(raw);
  }
  return undefined;
}

/** A KeyValue list as an object (dotted keys kept flat; nesting comes later). */
function keyValues(values: unknown): Json {
  const out: Json = {};
  for (const kv of list(values)) {
    const key = get(kv, 'key');
    if (typeof key === 'string' && key !== '') out[key] = anyValue(get(kv, 'value'));
  }
  return out;
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

/** Resource attributes that become the record's own columns rather than fields. */
const RESOURCE_COLUMNS = ['service.name', 'host.name', 'process.pid'];

export interface OtlpResult {
  records: ParsedRecord[];
  rejected: number;
  reason: string | undefined;
}

/**
 * An ExportLogsServiceRequest (either encoding, decoded) as records: service.name → facility and
 * app, host.name → host, process.pid → pid, severity_number (else severity_text) → severity,
 * body → msg (a kvlist body: its `message`/`msg` → msg, the rest → fields), attributes and the
 * other resource attributes → fields, trace_id/span_id/event_name → fields, time → ts.
 */
export function otlpRecords(request: Json, maxLineBytes: number): OtlpResult {
  const records: ParsedRecord[] = [];
  let rejected = 0;
  for (const resourceLogs of list(get(request, 'resource_logs'))) {
    const resource = keyValues(get(get(resourceLogs, 'resource'), 'attributes'));
    const service = resource['service.name'];
    const facility = facilityOf(service);
    const host = resource['host.name'];
    const pid = resource['process.pid'];
    const resourceFields = Object.fromEntries(
      Object.entries(resource).filter(([k]) => !RESOURCE_COLUMNS.includes(k)),
    );
    for (const scopeLogs of list(get(resourceLogs, 'scope_logs'))) {
      const scopeName = get(get(scopeLogs, 'scope'), 'name');
      for (const log of list(get(scopeLogs, 'log_records'))) {
        const body = anyValue(get(log, 'body'));
        let msg: string;
        let bodyFields: Json = {};
        if (typeof body === 'string') msg = body;
        else if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
          const { message, msg: short, ...rest } = body as Json;
          const text = typeof message === 'string' ? message : typeof short === 'string' ? short : undefined;
          msg = text ?? JSON.stringify(body);
          bodyFields = text === undefined ? {} : rest;
        } else if (body === undefined) {
          const event = get(log, 'event_name');
          msg = typeof event === 'string' ? event : '';
        } else
          msg = typeof body === 'number' || typeof body === 'boolean' ? String(body) : JSON.stringify(body);
        const fields: Json = { ...resourceFields, ...bodyFields, ...keyValues(get(log, 'attributes')) };
        const trace = hexId(get(log, 'trace_id'));
        const span = hexId(get(log, 'span_id'));
        if (trace !== undefined) fields.trace_id = trace;
        if (span !== undefined) fields.span_id = span;
        const event = get(log, 'event_name');
        if (typeof event === 'string' && event !== '' && body !== undefined) fields.event_name = event;
        if (typeof scopeName === 'string' && scopeName !== '') fields['otel.scope'] = scopeName;
        const severity =
          severityOfOtelNumber(Number(get(log, 'severity_number') ?? 0)) ??
          severityOfText(get(log, 'severity_text'));
        const ts =
          isoFromNanos(get(log, 'time_unix_nano')) ?? isoFromNanos(get(log, 'observed_time_unix_nano'));
        const record: ParsedRecord = { msg, relayed: true };
        if (facility !== undefined) record.facility = facility;
        if (typeof service === 'string' && service !== '') record.app = service;
        if (typeof host === 'string' && host !== '') record.host = host;
        if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) record.pid = pid;
        if (severity !== undefined) record.severity = severity;
        if (ts !== undefined) record.ts = ts;
        if (Object.keys(fields).length > 0) record.fields = nestDotted(fields);
        const capped = capMessage(record, maxLineBytes);
        if (fieldBytes(capped) > maxLineBytes) {
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

type Encoding = 'protobuf' | 'json';

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
      // Errors carry a google.rpc.Status in the request's encoding.
      const status_ = { code: status === 400 ? 3 : status === 429 ? 8 : 14, message: body.error ?? '' };
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
      let decoded: Json;
      try {
        const body = await context.body(request);
        if (encoding === 'protobuf') decoded = decodeToObject(ExportLogsServiceRequest, body);
        else {
          const parsed: unknown = JSON.parse(body.toString('utf8'));
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            throw new RequestError(400, 'an OTLP/JSON body is an object with resourceLogs');
          decoded = parsed as Json;
        }
      } catch (err) {
        const status = err instanceof RequestError ? err.status : 400;
        await answer(reply, encoding, status, {
          error: `cannot read the OTLP ${encoding} body: ${errorMessage(err)}`,
        });
        return;
      }
      const result = otlpRecords(decoded, context.maxLineBytes);
      const outcome: Outcome = await context.receive('otlp', result.records);
      if (outcome.kind === 'busy') {
        reply.header('retry-after', String(outcome.retryAfterS));
        await answer(reply, encoding, outcome.status, { error: outcome.reason });
        return;
      }
      await answer(
        reply,
        encoding,
        200,
        result.reason === undefined ? {} : { partial: { rejected: result.rejected, message: result.reason } },
      );
    });
  },
};
