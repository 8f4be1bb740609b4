import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorMessage } from '../../../protocol/index.js';
import type { ParsedRecord } from '../../record.js';
import { capMessage, fieldsFit, nestDotted } from './fields.js';
import { facilityOf, severityOfText } from './mapping.js';
import { RequestError, type Door, type DoorContext } from './receiver.js';

type Json = Record<string, unknown>;

/** The version Warren answers as: the one a client asks to be compatible with, else 8.x. */
function versionFor(request: FastifyRequest): string {
  const compat = /compatible-with=(\d+)/.exec(
    String(request.headers.accept ?? request.headers['content-type'] ?? ''),
  );
  return compat === null ? '8.17.0' : `${compat[1]}.0.0`;
}

/** A value at an ECS path, nested (`{"log":{"level":…}}`) or dotted (`"log.level"`), removed from the document. */
function take(doc: Json, path: string): unknown {
  if (path in doc) {
    const value = doc[path];
    delete doc[path];
    return value;
  }
  const [head = '', ...rest] = path.split('.');
  const child = doc[head];
  if (rest.length === 0 || typeof child !== 'object' || child === null || Array.isArray(child))
    return undefined;
  const value = take(child as Json, rest.join('.'));
  if (Object.keys(child).length === 0) delete doc[head];
  return value;
}

function firstString(doc: Json, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const value = take(doc, path);
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}

function isoOf(value: unknown): string | undefined {
  const date =
    typeof value === 'number'
      ? new Date(value)
      : typeof value === 'string'
        ? new Date(/^\d+$/.test(value) ? Number(value) : value)
        : undefined;
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * An ECS document as a record: `@timestamp` → ts, `message` → msg, `log.level` → severity,
 * `host.name` → host, `service.name` → facility and app, `process.pid` → pid; the rest → fields
 * (and the index it was sent to → fields.index).
 */
export function ecsRecord(source: Json, index: string | undefined, maxLineBytes: number): ParsedRecord {
  const doc = structuredClone(source);
  const ts = isoOf(take(doc, '@timestamp'));
  const msg = firstString(doc, ['message', 'msg', 'log']) ?? '';
  const level = firstString(doc, ['log.level', 'level', 'severity']);
  const host =
    firstString(doc, ['host.name', 'host.hostname', 'hostname']) ??
    (typeof doc.host === 'string' ? (take(doc, 'host') as string) : undefined);
  const service = firstString(doc, ['service.name']);
  const pid = Number(take(doc, 'process.pid'));
  const record: ParsedRecord = { msg, relayed: true };
  if (ts !== undefined) record.ts = ts;
  const severity = severityOfText(level);
  if (severity !== undefined) record.severity = severity;
  else if (level !== undefined) doc['log.level'] = level;
  if (host !== undefined) record.host = host;
  const facility = facilityOf(service);
  if (facility !== undefined) record.facility = facility;
  if (service !== undefined) record.app = service;
  if (Number.isInteger(pid) && pid > 0) record.pid = pid;
  if (index !== undefined && index !== '') doc.index = index;
  if (Object.keys(doc).length > 0) record.fields = nestDotted(doc);
  return capMessage(record, maxLineBytes);
}

type Action = 'index' | 'create' | 'update' | 'delete';

interface Item {
  action: Action;
  index: string;
  id: string;
  /** The record to ship, or why the item fails (status and ES error type). */
  result: ParsedRecord | { status: number; type: string; reason: string };
}

/** The NDJSON body: action lines, each but delete followed by its document. */
export function bulkItems(body: string, pathIndex: string | undefined, maxLineBytes: number): Item[] {
  const lines = body.split('\n').filter((line) => line.trim() !== '');
  const items: Item[] = [];
  for (let i = 0; i < lines.length; i++) {
    let action: unknown;
    try {
      action = JSON.parse(lines[i] ?? '');
    } catch (err) {
      throw new RequestError(400, `line ${i + 1} is not a JSON action: ${errorMessage(err)}`);
    }
    const [name] = typeof action === 'object' && action !== null ? Object.keys(action) : [];
    if (name !== 'index' && name !== 'create' && name !== 'update' && name !== 'delete')
      throw new RequestError(
        400,
        `line ${i + 1}: expected an action {"index":{…}}, {"create":{…}}, {"update":{…}} or {"delete":{…}}`,
      );
    const meta = ((action as Json)[name] ?? {}) as Json;
    const index = typeof meta._index === 'string' ? meta._index : (pathIndex ?? '');
    const id = typeof meta._id === 'string' ? meta._id : randomUUID();
    const refuse = (type: string, reason: string): void => {
      items.push({ action: name, index, id, result: { status: 400, type, reason } });
    };
    if (name === 'delete') {
      refuse('illegal_argument_exception', 'Warren keeps logs: delete is not supported');
      continue;
    }
    const source = lines[++i];
    if (source === undefined)
      throw new RequestError(400, `line ${i}: the ${name} action has no document after it`);
    if (name === 'update') {
      refuse('illegal_argument_exception', 'Warren keeps logs: update is not supported');
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(source);
    } catch (err) {
      refuse('document_parsing_exception', `line ${i + 1}: ${errorMessage(err)}`);
      continue;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      refuse('document_parsing_exception', `line ${i + 1}: a document is a JSON object`);
      continue;
    }
    const record = ecsRecord(doc as Json, index, maxLineBytes);
    if (!fieldsFit(record, maxLineBytes))
      refuse(
        'document_parsing_exception',
        `the document's fields take over ${maxLineBytes} bytes (logship --max-line)`,
      );
    else items.push({ action: name, index, id, result: record });
  }
  return items;
}

function isRecord(result: Item['result']): result is ParsedRecord {
  return 'msg' in result;
}

/**
 * Elasticsearch `_bulk` (`POST /_bulk`, `POST /{index}/_bulk`) with the calls clients make first
 * (`GET /`, `HEAD /` (fastify answers HEAD for every GET), templates, index creation, license)
 * answered harmlessly. Every answer says
 * `X-Elastic-Product: Elasticsearch`, which the official clients check.
 */
export const elasticDoor: Door = {
  name: 'elasticsearch',
  register(app, context: DoorContext) {
    const send = async (reply: FastifyReply, status: number, body: unknown): Promise<void> => {
      context.answered('elasticsearch', status);
      await reply
        .code(status)
        .header('x-elastic-product', 'Elasticsearch')
        .type('application/json')
        .send(body);
    };
    const error = (status: number, type: string, reason: string): Json => ({
      error: { root_cause: [{ type, reason }], type, reason },
      status,
    });

    app.get('/', async (request, reply) => {
      await send(reply, 200, {
        name: 'warren',
        cluster_name: 'warren',
        cluster_uuid: 'warren',
        version: {
          number: versionFor(request),
          build_flavor: 'default',
          lucene_version: '9.12.0',
          minimum_wire_compatibility_version: '7.17.0',
          minimum_index_compatibility_version: '7.0.0',
        },
        tagline: 'You Know, for Search',
      });
    });
    app.get('/_license', async (_request, reply) => {
      await send(reply, 200, { license: { status: 'active', type: 'basic' } });
    });
    app.get('/_xpack', async (_request, reply) => {
      await send(reply, 200, { features: {} });
    });
    // Vector's elasticsearch sink checks this before it starts.
    app.get('/_cluster/health', async (_request, reply) => {
      await send(reply, 200, {
        cluster_name: 'warren',
        status: 'green',
        timed_out: false,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
      });
    });
    // Templates, pipelines and index creation: acknowledged and ignored (Warren's store has its own schema).
    for (const url of [
      '/_index_template/:name',
      '/_template/:name',
      '/_component_template/:name',
      '/_ilm/policy/:name',
      '/_ingest/pipeline/:name',
    ]) {
      app.put(url, async (_request, reply) => send(reply, 200, { acknowledged: true }));
      app.get(url, async (_request, reply) => send(reply, 200, {}));
    }
    app.put('/:index', async (request, reply) => {
      const { index } = request.params as { index: string };
      await send(reply, 200, { acknowledged: true, shards_acknowledged: true, index });
    });
    app.head('/:index', async (_request, reply) => {
      context.answered('elasticsearch', 200);
      await reply.code(200).header('x-elastic-product', 'Elasticsearch').send();
    });

    const bulk = async (
      request: FastifyRequest,
      reply: FastifyReply,
      pathIndex: string | undefined,
    ): Promise<void> => {
      const started = Date.now();
      let items: Item[];
      try {
        const body = await context.body(request);
        items = bulkItems(body.toString('utf8'), pathIndex, context.maxLineBytes);
      } catch (err) {
        const status = err instanceof RequestError ? err.status : 400;
        await send(
          reply,
          status,
          error(status, 'illegal_argument_exception', `cannot read the bulk body: ${errorMessage(err)}`),
        );
        return;
      }
      const records = items.map((item) => item.result).filter(isRecord);
      const outcome = await context.receive('elasticsearch', records);
      let seq = 0;
      const answered = items.map((item): Record<string, { status: number } & Json> => {
        const result = item.result;
        if (!isRecord(result))
          return {
            [item.action]: {
              _index: item.index,
              _id: item.id,
              status: result.status,
              error: { type: result.type, reason: result.reason },
            },
          };
        if (outcome.kind === 'busy')
          // Per item, as Elasticsearch rejects under load: bulk helpers and shippers retry exactly these.
          return {
            [item.action]: {
              _index: item.index,
              _id: item.id,
              status: 429,
              error: { type: 'es_rejected_execution_exception', reason: outcome.reason },
            },
          };
        return {
          [item.action]: {
            _index: item.index,
            _id: item.id,
            _version: 1,
            result: 'created',
            _shards: { total: 1, successful: 1, failed: 0 },
            _seq_no: seq++,
            _primary_term: 1,
            status: 201,
          },
        };
      });
      await send(reply, 200, {
        took: Date.now() - started,
        errors: answered.some((a) => Object.values(a)[0]?.status !== 201),
        items: answered,
      });
    };
    app.post('/_bulk', async (request, reply) => bulk(request, reply, undefined));
    app.put('/_bulk', async (request, reply) => bulk(request, reply, undefined));
    app.post('/:index/_bulk', async (request, reply) =>
      bulk(request, reply, (request.params as { index: string }).index),
    );
    app.put('/:index/_bulk', async (request, reply) =>
      bulk(request, reply, (request.params as { index: string }).index),
    );
  },
};
