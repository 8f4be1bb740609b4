import { Type, type Static } from 'typebox';
import { SEVERITIES } from '../../protocol/index.js';

/** Limits on what one request may ask for: a query is bounded before it reaches SQLite. */
export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;
export const MAX_PATTERNS = 32;
export const MAX_PATTERN_LENGTH = 256;
export const MAX_Q_LENGTH = 1024;

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'A stable WARREN_* code, e.g. WARREN_BAD_PATTERN' }),
      message: Type.String({ description: 'What is wrong, in words' }),
      hint: Type.Optional(Type.String({ description: 'What to do about it' })),
    }),
  },
  { $id: 'Error', description: 'Every error answer has this shape' },
);

const Time = Type.String({
  maxLength: 64,
  description: 'ISO 8601 (2026-11-21T22:00:00Z) or a duration ago (15m, 2h, 7d, 1h30m)',
});

/** The filters shared by /api/logs and /api/logs/stream. */
const filterProperties = {
  pattern: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: MAX_PATTERN_LENGTH }), {
      maxItems: MAX_PATTERNS,
      description:
        'Routing-key pattern (repeatable, OR-ed): AMQP topic syntax (* one word, # zero or more) plus severity ranges (*.error+ = error and more severe). Default #.',
    }),
  ),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_Q_LENGTH,
      description:
        'The query language (CONTRACT §6 "Queries"): words of the message (all required, case-insensitive, word* a prefix, "a phrase"), name:value on host, app, pid, facility, severity, id or any key of fields (http.status:500, host:web-*, duration_ms:>250, severity:warning+), -term excludes, OR and parentheses. E.g. timeout -retry host:web-* (status:>=500 OR severity:error+). With syntax=words, plain words only; with syntax=fts, an FTS5 expression.',
    }),
  ),
  syntax: Type.Optional(
    Type.Enum(['query', 'words', 'fts'], {
      default: 'query',
      description: 'How q is read: the query language (default), plain words only, or FTS5 syntax',
    }),
  ),
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Exact host name' })),
};

export const LogsQuery = Type.Object(
  {
    ...filterProperties,
    limit: Type.Integer({
      minimum: 1,
      maximum: MAX_LIMIT,
      default: DEFAULT_LIMIT,
      description: 'Records per page',
    }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'The `next` of the previous page, opaque' }),
    ),
    order: Type.Enum(['desc', 'asc'], {
      default: 'desc',
      description: 'desc: newest first (default); asc: oldest first',
    }),
  },
  { additionalProperties: false },
);
export type LogsQuery = Static<typeof LogsQuery>;

export const VolumeQuery = Type.Object(
  {
    ...filterProperties,
    step: Type.String({
      default: '1m',
      maxLength: 16,
      description: 'Bucket width: a duration (10s, 1m, 5m, 1h, 1d); buckets start at multiples of it',
    }),
  },
  { additionalProperties: false },
);
export type VolumeQuery = Static<typeof VolumeQuery>;

export const Volume = Type.Object({
  since: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  step_ms: Type.Integer(),
  buckets: Type.Array(
    Type.Object({
      ts: Type.String({ format: 'date-time', description: "The bucket's start" }),
      total: Type.Integer(),
      counts: Type.Record(Type.String(), Type.Integer(), { description: 'severity → records' }),
    }),
    { description: 'Every bucket from since to until, empty ones included, oldest first' },
  ),
});

export const TopQuery = Type.Object(
  {
    ...filterProperties,
    by: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$',
      description: 'host, app, facility, severity, or a key path of fields (http.status)',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Values to list' }),
  },
  { additionalProperties: false },
);
export type TopQuery = Static<typeof TopQuery>;

export const Top = Type.Object({
  by: Type.String(),
  total: Type.Integer({ description: 'Records the filters select' }),
  values: Type.Array(
    Type.Object({
      value: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
      count: Type.Integer(),
    }),
  ),
  other_values: Type.Integer({ description: 'Distinct values beyond those listed' }),
  other_count: Type.Integer({ description: 'Records holding them' }),
  missing: Type.Integer({ description: 'Records without a value for `by`' }),
});

export const ContextQuery = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 256, description: "The record's id" }),
    before: Type.Integer({ minimum: 0, maximum: 1000, default: 20 }),
    after: Type.Integer({ minimum: 0, maximum: 1000, default: 20 }),
    scope: Type.Enum(['stream', 'host', 'all'], {
      default: 'stream',
      description: 'stream: the same host and app (default); host: the same host; all: every record',
    }),
  },
  { additionalProperties: false },
);
export type ContextQuery = Static<typeof ContextQuery>;

export const Context = Type.Object({
  records: Type.Array(Type.Ref('LogRecord'), { description: 'In time order' }),
  target: Type.Integer({ description: 'The index in records of the record asked for' }),
});

export const ExportQuery = Type.Object({ ...filterProperties }, { additionalProperties: false });
export type ExportQuery = Static<typeof ExportQuery>;

export const StreamQuery = Type.Object(
  {
    ...filterProperties,
    cursor: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,16}$',
        description:
          "Resume after this event id (or a page answer's stream_cursor); the Last-Event-ID header wins. Default: only records stored from now on.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type StreamQuery = Static<typeof StreamQuery>;

export const LogRecord = Type.Object(
  {
    id: Type.Union([Type.String(), Type.Null()]),
    ts: Type.String({ format: 'date-time' }),
    facility: Type.String(),
    severity: Type.Enum([...SEVERITIES]),
    host: Type.Optional(Type.String()),
    app: Type.Optional(Type.String()),
    pid: Type.Optional(Type.Integer()),
    msg: Type.String(),
    fields: Type.Optional(Type.Object({}, { additionalProperties: true })),
    routing_key: Type.String(),
  },
  { $id: 'LogRecord', description: 'A stored record (CONTRACT §4) with the routing key it arrived with' },
);

export const LogsPage = Type.Object({
  records: Type.Array(Type.Ref('LogRecord')),
  next: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null when there is none',
  }),
  stream_cursor: Type.String({
    description:
      'The store position this answer (and every page after it) was read at: pass it as Last-Event-ID or cursor to /api/logs/stream to continue live with no gap and no duplicate',
  }),
});

export const StatsQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ ...Time, default: '1h' })),
    until: Type.Optional(Time),
  },
  { additionalProperties: false },
);
export type StatsQuery = Static<typeof StatsQuery>;

const nullableNumber = Type.Union([Type.Number(), Type.Null()]);
const nullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const Stats = Type.Object({
  since: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  total: Type.Integer({ description: 'Records with ts in [since, until)' }),
  counts: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), {
    description: 'facility → severity → records in the window',
  }),
  by_severity: Type.Record(Type.String(), Type.Integer()),
  by_facility: Type.Record(Type.String(), Type.Integer()),
  ingest_rate: Type.Number({ description: 'Records committed per second over the last few seconds' }),
  collector: Type.Object({
    broker_connected: Type.Boolean(),
    store_writable: Type.Boolean(),
    stored: Type.Integer({ description: 'Records committed since the collector started' }),
    duplicates: Type.Integer(),
    dead_lettered: Type.Integer(),
  }),
  queue: Type.Object({ name: Type.String(), depth: nullableNumber }),
  dead_letter_depth: nullableNumber,
  unrouted_depth: nullableNumber,
  store: Type.Object({
    size_bytes: Type.Integer(),
    oldest: nullableTime,
    newest: nullableTime,
  }),
});

export const Health = Type.Object({ status: Type.String() });
export const Ready = Type.Object({
  ready: Type.Boolean(),
  broker_connected: Type.Boolean(),
  store_writable: Type.Boolean(),
  problems: Type.Array(Type.String()),
});
