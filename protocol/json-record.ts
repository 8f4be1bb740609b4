/**
 * The one reader of JSON log objects, for the agent (JSON log lines, the pino transport) and the
 * collector (JSON bodies) alike (CONTRACT §4): Warren's own record, and the common dialects —
 * pino, bunyan, winston, logrus/zap, ECS, python-json-logger, GCP, Docker json-file. What is not a
 * record part goes to `fields`, so nothing a publisher sent is dropped silently.
 */
import { isPlainObject } from './json.js';
import { isFacility } from './routing-key.js';
import { severityFromPinoLevel, type Severity } from './severity.js';
import { logTimeToIso } from './timestamp.js';

/** What a JSON object says of a record; every part optional (the caller fills the rest). */
export interface JsonRecordParts {
  /** The message, when the object has one as text (`msg`, `message`, Docker's `log`). */
  msg?: string;
  /** Set when the object has a message key whose value is not text: which key, and the value. */
  msgNotText?: { key: string; value: unknown };
  id?: string;
  /** ISO 8601. */
  ts?: string;
  severity?: Severity;
  facility?: string;
  host?: string;
  app?: string;
  pid?: number;
  fields?: Record<string, unknown>;
}

/** Message keys, first found wins. */
const MESSAGE_KEYS = ['msg', 'message', 'log'] as const;
/** Level keys: Warren and GCP `severity`, most loggers' `level`, python-json-logger's `levelname`. */
const LEVEL_KEYS = ['severity', 'level', 'levelname'] as const;
/** Time keys: Warren `ts` (also zap), pino/bunyan/Docker `time`, winston `timestamp`, ECS `@timestamp`. */
const TIME_KEYS = ['ts', 'time', 'timestamp', '@timestamp'] as const;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function integer(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  return typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : undefined;
}

/**
 * An ECS-style object member (`host.name`, `service.name`, `process.pid`, `log.level`): read from a
 * nested object or a dotted key; the nested object is consumed only if that was all it held.
 */
function dotted(obj: Record<string, unknown>, outer: string, inner: string, used: Set<string>): unknown {
  const flat = `${outer}.${inner}`;
  if (flat in obj) {
    used.add(flat);
    return obj[flat];
  }
  const nested = obj[outer];
  if (!isPlainObject(nested) || !(inner in nested)) return undefined;
  if (Object.keys(nested).length === 1) used.add(outer);
  return nested[inner];
}

/** Reads one JSON log object: its record parts, the rest as fields. */
export function readJsonRecord(obj: Record<string, unknown>): JsonRecordParts {
  // Fast path (Warren's own records, most loggers): the hot collector path avoids sets and dotted look-ups.
  return readsPlainly(obj) ? readPlain(obj) : readGeneral(obj);
}

/**
 * The keys readPlain reads. Any other key needs readGeneral: Docker's `log`, ECS objects and dotted
 * keys (`service.name`, `log.level`, …), and foreign keys, which become fields.
 */
const PLAIN_KEYS = new Set<string>([
  'msg',
  'message',
  ...LEVEL_KEYS,
  ...TIME_KEYS,
  'id',
  'host',
  'hostname',
  'app',
  'name',
  'pid',
  'facility',
  'fields',
  'v',
]);

/** Whether readPlain reads the object as readGeneral would. */
export function readsPlainly(obj: Record<string, unknown>): boolean {
  for (const key in obj) if (!PLAIN_KEYS.has(key)) return false;
  // `host` as text is the part every Warren record has; as an object it is ECS's `host.name`.
  return !isPlainObject(obj.host);
}

/** Only plain part keys: each read directly, in the same priority as readGeneral. */
function readPlain(obj: Record<string, unknown>): JsonRecordParts {
  const parts: JsonRecordParts = {};
  let fields: Record<string, unknown> | undefined;
  const keep = (key: string): void => {
    (fields ??= {})[key] = obj[key];
  };
  const msgKey = obj.msg !== undefined || 'msg' in obj ? 'msg' : 'message' in obj ? 'message' : undefined;
  if (msgKey !== undefined) {
    const value = obj[msgKey];
    if (typeof value === 'string') parts.msg = value;
    else parts.msgNotText = { key: msgKey, value };
    if (msgKey === 'msg' && 'message' in obj) keep('message');
  }
  const levelKey =
    obj.severity !== undefined
      ? 'severity'
      : obj.level !== undefined
        ? 'level'
        : obj.levelname !== undefined
          ? 'levelname'
          : undefined;
  for (const key of LEVEL_KEYS) {
    const value = obj[key];
    if (value === undefined) continue;
    const severity =
      key === levelKey && (typeof value === 'number' || typeof value === 'string')
        ? severityFromPinoLevel(value)
        : undefined;
    if (severity !== undefined) parts.severity = severity;
    else keep(key);
  }
  let timeTaken = false;
  for (const key of TIME_KEYS) {
    const value = obj[key];
    if (value === undefined) continue;
    const ts = timeTaken ? undefined : logTimeToIso(value);
    if (ts !== undefined) {
      parts.ts = ts;
      timeTaken = true;
    } else keep(key);
  }
  const id = text(obj.id);
  if (id !== undefined) parts.id = id;
  else if ('id' in obj) keep('id');
  const host = text(obj.host) ?? text(obj.hostname);
  if (host !== undefined) parts.host = host;
  if ('host' in obj && text(obj.host) === undefined) keep('host');
  if ('hostname' in obj && (text(obj.host) !== undefined || text(obj.hostname) === undefined))
    keep('hostname');
  const app = text(obj.app) ?? text(obj.name);
  if (app !== undefined) parts.app = app;
  if ('app' in obj && text(obj.app) === undefined) keep('app');
  if ('name' in obj && (text(obj.app) !== undefined || text(obj.name) === undefined)) keep('name');
  const pid = integer(obj.pid);
  if (pid !== undefined) parts.pid = pid;
  else if ('pid' in obj) keep('pid');
  if (typeof obj.facility === 'string' && isFacility(obj.facility.toLowerCase()))
    parts.facility = obj.facility.toLowerCase();
  else if ('facility' in obj) keep('facility');
  if ('v' in obj && !(obj.v === 0 && typeof obj.hostname === 'string')) keep('v');
  if (isPlainObject(obj.fields)) {
    if (fields === undefined) {
      // Warren's own records: the object as sent, no copy.
      if (Object.keys(obj.fields).length > 0) fields = obj.fields;
    } else fields = { ...obj.fields, ...fields };
  } else if ('fields' in obj) keep('fields');
  if (fields !== undefined) parts.fields = fields;
  return parts;
}

/** Any object: dialect keys, ECS objects and dotted keys, and every other key as a field. */
export function readGeneral(obj: Record<string, unknown>): JsonRecordParts {
  const parts: JsonRecordParts = {};
  const used = new Set<string>();

  for (const key of MESSAGE_KEYS) {
    if (!(key in obj)) continue;
    used.add(key);
    const value = obj[key];
    if (typeof value === 'string') parts.msg = key === 'log' ? value.replace(/\r?\n$/, '') : value;
    else parts.msgNotText = { key, value };
    break;
  }

  let level: unknown;
  let levelKey: string | undefined;
  for (const key of LEVEL_KEYS) {
    if (obj[key] === undefined) continue;
    level = obj[key];
    levelKey = key;
    break;
  }
  if (levelKey === undefined) {
    const ecs = dotted(obj, 'log', 'level', used);
    if (ecs !== undefined) [level, levelKey] = [ecs, 'log.level'];
  }
  if (typeof level === 'number' || typeof level === 'string') {
    const severity = severityFromPinoLevel(level);
    if (severity !== undefined) {
      parts.severity = severity;
      if (levelKey !== undefined) used.add(levelKey);
    }
  }

  for (const key of TIME_KEYS) {
    if (obj[key] === undefined) continue;
    const ts = logTimeToIso(obj[key]);
    if (ts === undefined) continue; // unreadable: kept in fields below
    used.add(key);
    parts.ts = ts;
    break;
  }

  const id = text(obj.id);
  if (id !== undefined) {
    used.add('id');
    parts.id = id;
  }
  const host = text(obj.host) ?? text(obj.hostname) ?? text(dotted(obj, 'host', 'name', used));
  if (host !== undefined) {
    if (text(obj.host) !== undefined) used.add('host');
    else if (text(obj.hostname) !== undefined) used.add('hostname');
    parts.host = host;
  }
  const app = text(obj.app) ?? text(obj.name) ?? text(dotted(obj, 'service', 'name', used));
  if (app !== undefined) {
    if (text(obj.app) !== undefined) used.add('app');
    else if (text(obj.name) !== undefined) used.add('name');
    parts.app = app;
  }
  const pid = integer(obj.pid) ?? integer(dotted(obj, 'process', 'pid', used));
  if (pid !== undefined) {
    if (integer(obj.pid) !== undefined) used.add('pid');
    parts.pid = pid;
  }
  if (typeof obj.facility === 'string' && isFacility(obj.facility.toLowerCase())) {
    used.add('facility');
    parts.facility = obj.facility.toLowerCase();
  }
  // bunyan's format version says nothing about the record.
  if (obj.v === 0 && typeof obj.hostname === 'string') used.add('v');

  let fields: Record<string, unknown> | undefined;
  if (isPlainObject(obj.fields)) {
    used.add('fields');
    if (Object.keys(obj.fields).length > 0) fields = { ...obj.fields };
  }
  for (const key of Object.keys(obj)) {
    if (used.has(key)) continue;
    // A level no table knows ("verbose") is kept as a field rather than lost; so is everything else.
    (fields ??= {})[key] = obj[key];
  }
  if (fields !== undefined) parts.fields = fields;
  return parts;
}
