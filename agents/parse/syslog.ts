import { bsdTimeToIso, fromSyslogPri, logTimeToIso } from '../../protocol/index.js';
import type { ParsedRecord } from '../record.js';

/** RFC 3164 timestamp: `Mmm dd hh:mm:ss` (day space-padded), no year and no zone. */
const BSD_TS = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) /;
/** RFC 3164 TAG with optional `[pid]`, then `: ` (tolerating a missing space). */
const BSD_TAG = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])?: ?/;
/**
 * The same TAG followed by only a space, read after a timestamp and host: rsyslog's default
 * forwarding writes `sshd[4242] text` and `myapp text` for tags without a colon.
 */
const BSD_TAG_NO_COLON = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])? /;

/** How long an RFC 3164 time read is reused for the same text (which year it is in cannot change sooner). */
const STAMP_REUSE_MS = 1000;
/** The last RFC 3164 time read: a sender stamps the lines of one second alike, and local-time conversion was the parser's main cost. */
const lastStamp = { text: '', at: Number.NEGATIVE_INFINITY, iso: undefined as string | undefined };

function bsdTime(match: RegExpExecArray, now: Date | undefined): string | undefined {
  const at = now === undefined ? Date.now() : now.getTime();
  if (match[0] === lastStamp.text && Math.abs(at - lastStamp.at) < STAMP_REUSE_MS) return lastStamp.iso;
  const iso = bsdTimeToIso(match, now ?? new Date(at));
  lastStamp.text = match[0];
  lastStamp.at = at;
  lastStamp.iso = iso;
  return iso;
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
  const pri = /^<(\d{1,3})>/.exec(text);
  if (pri === null) return malformed(text, 'no <PRI> at the start');
  const parts = fromSyslogPri(Number(pri[1]));
  if (parts === undefined) return malformed(text, `PRI ${pri[1]} is out of range 0..191`);
  const rest = text.slice(pri[0].length);
  const record: ParsedRecord = /^[1-9]\d{0,2} /.test(rest) ? parse5424(rest) : parse3164(rest, now);
  record.facility = parts.facility;
  record.severity = parts.severity;
  return record;
}

function malformed(text: string, reason: string): ParsedRecord {
  return { msg: text, fields: { syslog_error: reason } };
}

function nil(value: string | undefined): string | undefined {
  return value === undefined || value === '-' || value === '' ? undefined : value;
}

function applyProc(record: ParsedRecord, fields: Record<string, unknown>, procid: string | undefined): void {
  if (procid === undefined) return;
  if (/^\d{1,10}$/.test(procid)) record.pid = Number(procid);
  else fields.procid = procid;
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
  applyProc(record, fields, nil(procid));
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
  const fields: Record<string, unknown> = {};
  let i = 0;
  let ts: string | undefined;
  const tsMatch = BSD_TS.exec(rest);
  if (tsMatch !== null) {
    ts = bsdTime(tsMatch, now);
    i = tsMatch[0].length;
  }
  let host: string | undefined;
  // The HOSTNAME field is only present after a timestamp; a word without ':' or '[' is one.
  if (tsMatch !== null) {
    const hostMatch = /^([^\s:[\]]+) /.exec(rest.slice(i));
    if (hostMatch !== null && !/^[^\s:[\]]+(\[[^\]]*\])?:/.test(rest.slice(i))) {
      host = hostMatch[1];
      i += hostMatch[0].length;
    }
  }
  const body = rest.slice(i);
  const tag = BSD_TAG.exec(body) ?? (host === undefined ? null : BSD_TAG_NO_COLON.exec(body));
  const record: ParsedRecord = { msg: tag === null ? body : body.slice(tag[0].length) };
  if (ts !== undefined) record.ts = ts;
  if (host !== undefined) record.host = host;
  if (tag !== null) {
    record.app = tag[1] ?? '';
    applyProc(record, fields, tag[2]);
  }
  if (Object.keys(fields).length > 0) record.fields = fields;
  return record;
}
