import { bsdTimeToIso, fromSyslogPri, logTimeToIso } from '../../protocol/index.js';
import type { ParsedRecord } from '../record.js';

/** RFC 3164 timestamp: `Mmm dd hh:mm:ss` (day space-padded), no year and no zone: 16 characters. */
const BSD_TS = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) /;
// The parts after it are read where they start (sticky, `y`): slicing the rest for each cost a copy.
/** A HOSTNAME: a word without ':' or '[' followed by a space. */
const BSD_HOST = /[^\s:[\]]+ /y;
/** What makes such a word a TAG instead (`app:`, `app[42]:`). */
const BSD_TAG_AHEAD = /[^\s:[\]]+(?:\[[^\]]*\])?:/y;
/** RFC 3164 TAG with optional `[pid]`, then `: ` (tolerating a missing space). */
const BSD_TAG = /([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])?: ?/y;
/**
 * The same TAG followed by only a space, read after a timestamp and host: rsyslog's default
 * forwarding writes `sshd[4242] text` and `myapp text` for tags without a colon.
 */
const BSD_TAG_NO_COLON = /([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])? /y;

/** How long an RFC 3164 time read is reused for the same text (which year it is in cannot change sooner). */
const STAMP_REUSE_MS = 1000;
/** The last RFC 3164 time read: a sender stamps the lines of one second alike, and local-time conversion was the parser's main cost. */
const lastStamp = { text: '', at: Number.NEGATIVE_INFINITY, iso: undefined as string | undefined };

/** The RFC 3164 time `rest` starts with: its length (0 if none) and its ISO form, if a real date. */
function bsdTime(rest: string, now: Date | undefined): { length: number; iso: string | undefined } {
  const at = now === undefined ? Date.now() : now.getTime();
  // The same 16 characters as the last time read match the same way: no regex run for them.
  if (
    lastStamp.text !== '' &&
    rest.startsWith(lastStamp.text) &&
    Math.abs(at - lastStamp.at) < STAMP_REUSE_MS
  )
    return { length: lastStamp.text.length, iso: lastStamp.iso };
  const match = BSD_TS.exec(rest);
  if (match === null) return { length: 0, iso: undefined };
  const iso = bsdTimeToIso(match, now ?? new Date(at));
  lastStamp.text = match[0];
  lastStamp.at = at;
  lastStamp.iso = iso;
  return { length: match[0].length, iso };
}

/** True if a frame ends in CR, LF or NUL (checked before running the regex that strips them). */
function hasTrailingBreak(frame: string): boolean {
  const last = frame.charCodeAt(frame.length - 1);
  return last === 0x0a || last === 0x0d || last === 0;
}

/**
 * Parses one syslog frame (RFC 5424 or RFC 3164) into a record: facility and severity from PRI;
 * hostname, app-name and procid into the record; msgid and structured data into fields. A frame
 * that is not syslog is still shipped, as text, with the reason in `fields.syslog_error`. `now`
 * (default: the clock) places an RFC 3164 time, which has no year.
 */
export function parseSyslog(frame: string, now?: Date): ParsedRecord {
  const text = hasTrailingBreak(frame) ? frame.replace(/[\r\n\0]+$/, '') : frame;
  const priEnd = priLength(text);
  if (priEnd === 0) return malformed(text, 'no <PRI> at the start');
  const parts = fromSyslogPri(Number(text.slice(1, priEnd - 1)));
  if (parts === undefined) return malformed(text, `PRI ${text.slice(1, priEnd - 1)} is out of range 0..191`);
  const rest = text.slice(priEnd);
  const record: ParsedRecord = /^[1-9]\d{0,2} /.test(rest) ? parse5424(rest) : parse3164(rest, now);
  record.facility = parts.facility;
  record.severity = parts.severity;
  return record;
}

/** Length of the `<N>` (1-3 digits) a frame starts with, or 0 if it has none. */
function priLength(text: string): number {
  if (text.charCodeAt(0) !== 0x3c) return 0;
  let i = 1;
  while (i <= 3 && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  return i > 1 && text.charCodeAt(i) === 0x3e ? i + 1 : 0;
}

function malformed(text: string, reason: string): ParsedRecord {
  return { msg: text, fields: { syslog_error: reason } };
}

function nil(value: string | undefined): string | undefined {
  return value === undefined || value === '-' || value === '' ? undefined : value;
}

/** A numeric PROCID is the record's pid; any other is returned, for `fields.procid`. */
function applyProc(record: ParsedRecord, procid: string | undefined): string | undefined {
  if (procid === undefined || !/^\d{1,10}$/.test(procid)) return procid;
  record.pid = Number(procid);
  return undefined;
}

function parse5424(rest: string): ParsedRecord {
  // VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
  const head = /^(\d{1,3}) (\S+) (\S+) (\S+) (\S+) (\S+) ?/.exec(rest);
  if (head === null) return malformed(`<?>${rest}`, 'RFC 5424 header is incomplete');
  const [, , ts, host, app, procid, msgid] = head;
  let i = head[0].length;
  const fields: Record<string, unknown> = {};
  let sd: Record<string, Record<string, string>> | undefined;
  if (rest[i] === '-') {
    i++;
  } else {
    while (rest[i] === '[') {
      const parsed = readSdElement(rest, i);
      if (parsed === undefined) {
        fields.syslog_error = 'malformed structured data';
        break;
      }
      sd ??= {};
      sd[parsed.id] = parsed.params;
      i = parsed.end;
    }
  }
  let msg = rest.slice(i).replace(/^ /, '');
  if (msg.startsWith('\uFEFF')) msg = msg.slice(1);
  const record: ParsedRecord = { msg };
  const iso = logTimeToIso(nil(ts));
  if (iso !== undefined) record.ts = iso;
  const hostname = nil(host);
  if (hostname !== undefined) record.host = hostname;
  const appName = nil(app);
  if (appName !== undefined) record.app = appName;
  const procField = applyProc(record, nil(procid));
  if (procField !== undefined) fields.procid = procField;
  const id = nil(msgid);
  if (id !== undefined) fields.msgid = id;
  if (sd !== undefined) fields.sd = sd;
  if (Object.keys(fields).length > 0) record.fields = fields;
  return record;
}

/** One `[id k="v" ...]` element with RFC 5424 escapes (\" \\ \]); undefined if malformed. */
function readSdElement(
  text: string,
  start: number,
): { id: string; params: Record<string, string>; end: number } | undefined {
  const idMatch = /^\[([^\s\]="]{1,32})/.exec(text.slice(start, start + 40));
  if (idMatch === null) return undefined;
  const id = idMatch[1] ?? '';
  const params: Record<string, string> = {};
  let i = start + idMatch[0].length;
  for (;;) {
    if (text[i] === ']') return { id, params, end: i + 1 };
    if (text[i] !== ' ') return undefined;
    i++;
    const eq = text.indexOf('="', i);
    if (eq < 0) return undefined;
    const name = text.slice(i, eq);
    if (!/^[^\s\]="]{1,32}$/.test(name)) return undefined;
    i = eq + 2;
    let value = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined) return undefined;
      if (ch === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\' || text[i + 1] === ']')) {
        value += text[i + 1];
        i += 2;
      } else if (ch === '"') {
        i++;
        break;
      } else {
        value += ch;
        i++;
      }
    }
    params[name] = value;
  }
}

function parse3164(rest: string, now: Date | undefined): ParsedRecord {
  const stamp = bsdTime(rest, now);
  let i = stamp.length;
  let host: string | undefined;
  // The HOSTNAME field is only present after a timestamp; a word without ':' or '[' is one.
  if (i > 0 && matchesAt(BSD_HOST, rest, i) && !matchesAt(BSD_TAG_AHEAD, rest, i)) {
    host = rest.slice(i, BSD_HOST.lastIndex - 1);
    i = BSD_HOST.lastIndex;
  }
  BSD_TAG.lastIndex = i;
  let tag = BSD_TAG.exec(rest);
  if (tag === null && host !== undefined) {
    BSD_TAG_NO_COLON.lastIndex = i;
    tag = BSD_TAG_NO_COLON.exec(rest);
  }
  const record: ParsedRecord = { msg: rest.slice(tag === null ? i : i + tag[0].length) };
  if (stamp.iso !== undefined) record.ts = stamp.iso;
  if (host !== undefined) record.host = host;
  if (tag !== null) {
    record.app = tag[1] ?? '';
    const procField = applyProc(record, tag[2]);
    if (procField !== undefined) record.fields = { procid: procField };
  }
  return record;
}

/** Whether a sticky regex matches at `index` (its lastIndex is then where the match ends). */
function matchesAt(sticky: RegExp, text: string, index: number): boolean {
  sticky.lastIndex = index;
  return sticky.test(text);
}
