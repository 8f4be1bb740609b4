import type { FastifyReply, FastifyRequest } from 'fastify';
import snappy from 'snappyjs';
import { errorMessage } from '../../../protocol/index.js';
import { parseJsonLine } from '../../parse/json.js';
import type { ParsedRecord } from '../../record.js';
import { capMessage, fieldsFit, nestDotted } from './fields.js';
import { facilityOf, isoFromNanos, severityInLine, severityOfText } from './mapping.js';
import { decodeToObject, LokiPushRequest } from './proto.js';
import { RequestError, type Door, type DoorContext } from './receiver.js';

type Labels = Record<string, string>;

/** Stream labels that name the service (the first present becomes the facility and app). */
const SERVICE_LABELS = ['service_name', 'service', 'app', 'application', 'job', 'container', 'component'];
/** Labels that say the level (else the line is read for one). */
const LEVEL_LABELS = ['level', 'severity', 'detected_level', 'lvl', 'loglevel'];
const HOST_LABELS = ['host', 'hostname', 'node', 'nodename'];

/** A Prometheus label set as the protobuf push sends it: `{job="api", level="info"}`. */
export function parseLabels(text: string): Labels {
  const labels: Labels = {};
  const body = text.trim().replace(/^\{/, '').replace(/\}$/, '');
  const pair = /\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  let at = 0;
  while (at < body.length) {
    pair.lastIndex = at;
    const match = pair.exec(body);
    if (match === null)
      throw new RequestError(400, `cannot read the stream labels '${text}': expected {name="value", ...}`);
    labels[match[1] ?? ''] = (match[2] ?? '').replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
    at = pair.lastIndex;
  }
  return labels;
}

function firstOf(labels: Labels, names: readonly string[]): [string, string] | undefined {
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined && value !== '') return [name, value];
  }
  return undefined;
}

export interface LokiEntry {
  /** Nanoseconds since the epoch, as Loki sends them. */
  nanos: bigint;
  line: string;
  metadata: Labels;
}

/**
 * One Loki entry as a record: the service label → facility and app, the level label (else a level
 * the line states) → severity, a host label → host, a JSON line read as logship reads stdin
 * (pino-loki sends those), the other labels and the structured metadata → fields.
 */
export function lokiRecord(labels: Labels, entry: LokiEntry, maxLineBytes: number): ParsedRecord {
  const fromLine = entry.line.trimStart().startsWith('{') ? parseJsonLine(entry.line) : undefined;
  const record: ParsedRecord = fromLine ?? { msg: entry.line };
  record.relayed = true;
  const service = firstOf(labels, SERVICE_LABELS);
  const level = firstOf(labels, LEVEL_LABELS);
  const host = firstOf(labels, HOST_LABELS);
  const facility = facilityOf(service?.[1]);
  if (facility !== undefined) record.facility = facility;
  if (service !== undefined) record.app ??= service[1];
  if (host !== undefined) record.host ??= host[1];
  const severity = severityOfText(level?.[1]) ?? record.severity ?? severityInLine(entry.line);
  if (severity !== undefined) record.severity = severity;
  const ts = isoFromNanos(entry.nanos);
  if (ts !== undefined) record.ts = ts;
  const used = new Set([level?.[0]]);
  const rest = Object.fromEntries(Object.entries(labels).filter(([k]) => !used.has(k)));
  const fields = { ...record.fields, ...rest, ...nestDotted(entry.metadata) };
  if (Object.keys(fields).length > 0) record.fields = fields;
  return capMessage(record, maxLineBytes);
}

function nanosOf(value: unknown): bigint {
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  throw new RequestError(
    400,
    `a Loki entry's timestamp must be nanoseconds as a string, not ${JSON.stringify(value)}`,
  );
}

function stringMap(value: unknown, what: string): Labels {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new RequestError(400, `${what} must be an object of strings`);
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** `{"streams":[{"stream":{labels},"values":[["<ns>","line",{metadata}?]]}]}` → streams. */
function fromJson(body: Buffer): { labels: Labels; entries: LokiEntry[] }[] {
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  const streams = (parsed as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) throw new RequestError(400, 'a Loki push body is {"streams":[...]}');
  return streams.map((stream: unknown) => {
    const s = stream as { stream?: unknown; values?: unknown };
    if (!Array.isArray(s.values))
      throw new RequestError(400, 'each stream needs "values": [["<unix ns>", "line"], ...]');
    return {
      labels: stringMap(s.stream, 'a stream'),
      entries: s.values.map((value: unknown) => {
        if (!Array.isArray(value) || typeof value[1] !== 'string')
          throw new RequestError(
            400,
            'each value is ["<unix ns>", "line"] or ["<unix ns>", "line", {metadata}]',
          );
        return {
          nanos: nanosOf(value[0]),
          line: value[1],
          metadata: stringMap(value[2], 'structured metadata'),
        };
      }),
    };
  });
}

/** The snappy-compressed protobuf PushRequest (Promtail, Alloy, Vector's default). */
function fromProtobuf(body: Buffer, maxBytes: number): { labels: Labels; entries: LokiEntry[] }[] {
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(body, maxBytes);
  } catch (err) {
    throw new RequestError(400, `cannot snappy-decompress the protobuf push: ${errorMessage(err)}`);
  }
  const request = decodeToObject(LokiPushRequest, raw) as {
    streams?: {
      labels?: string;
      entries?: {
        timestamp?: { seconds?: string; nanos?: number };
        line?: string;
        structuredMetadata?: { name?: string; value?: string }[];
      }[];
    }[];
  };
  return (request.streams ?? []).map((stream) => ({
    labels: parseLabels(stream.labels ?? '{}'),
    entries: (stream.entries ?? []).map((entry) => ({
      nanos: BigInt(entry.timestamp?.seconds ?? '0') * 1_000_000_000n + BigInt(entry.timestamp?.nanos ?? 0),
      line: entry.line ?? '',
      metadata: Object.fromEntries(
        (entry.structuredMetadata ?? []).map((m) => [m.name ?? '', m.value ?? '']),
      ),
    })),
  }));
}

function contentType(request: FastifyRequest): string {
  return (
    String(request.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase() ?? ''
  );
}

/** Loki push: `POST /loki/api/v1/push`, JSON or snappy protobuf; 204 once every entry is safe. */
export const lokiDoor: Door = {
  name: 'loki',
  register(app, context: DoorContext) {
    const fail = async (reply: FastifyReply, status: number, message: string): Promise<void> => {
      context.answered('loki', status);
      await reply.code(status).type('text/plain; charset=utf-8').send(message);
    };
    app.post('/loki/api/v1/push', async (request, reply) => {
      const type = contentType(request);
      let records: ParsedRecord[];
      try {
        const body = await context.body(request);
        let streams: { labels: Labels; entries: LokiEntry[] }[];
        if (type === 'application/x-protobuf' || type === 'application/protobuf')
          streams = fromProtobuf(body, context.maxBodyBytes);
        else if (type === 'application/json' || type === '') streams = fromJson(body);
        else
          throw new RequestError(
            415,
            `content-type '${type}' is not a Loki push: send application/json or application/x-protobuf (snappy)`,
          );
        records = streams.flatMap((s) => s.entries.map((e) => lokiRecord(s.labels, e, context.maxLineBytes)));
        const over = records.find((r) => !fieldsFit(r, context.maxLineBytes));
        if (over !== undefined)
          throw new RequestError(
            400,
            `an entry's labels and metadata take over ${context.maxLineBytes} bytes (logship --max-line)`,
          );
      } catch (err) {
        await fail(
          reply,
          err instanceof RequestError ? err.status : 400,
          `cannot read the Loki push: ${errorMessage(err)}`,
        );
        return;
      }
      const outcome = await context.receive('loki', records);
      if (outcome.kind === 'busy') {
        reply.header('retry-after', String(outcome.retryAfterS));
        await fail(reply, outcome.status, outcome.reason);
        return;
      }
      context.answered('loki', 204);
      await reply.code(204).send();
    });
  },
};
