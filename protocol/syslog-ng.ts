/**
 * syslog-ng's `amqp()` destination (CONTRACT §4): it cannot set a content type, so its body is plain
 * text (or JSON from `format-json`, still labelled text/plain) and what it knows of a message comes
 * in upper-case names — as AMQP headers, or as the keys of a `format-json --scope rfc5424` body.
 * This turns those names into the keys the JSON record reader knows.
 */
import { bsdTimeToIso } from './timestamp.js';

/** syslog-ng's names for record parts; every other name becomes a field in lower case. */
const PARTS: Record<string, string> = {
  MESSAGE: 'msg',
  HOST: 'host',
  PROGRAM: 'app',
  PID: 'pid',
  ISODATE: 'ts',
  PRIORITY: 'severity',
  LEVEL: 'severity',
  FACILITY: 'facility',
};
/** Names that repeat what the record already says. */
const REDUNDANT = new Set(['LEGACY_MSGHDR', 'DATE', 'SOURCE']);

/** True when an object speaks syslog-ng's names (`MESSAGE`, `HOST`, `PROGRAM`) rather than a record's. */
export function isSyslogNgObject(obj: Record<string, unknown>): boolean {
  return ('MESSAGE' in obj || 'PROGRAM' in obj || 'HOST' in obj) && !('msg' in obj) && !('message' in obj);
}

/**
 * syslog-ng's names as a record object: `MESSAGE`→msg, `HOST`→host, `PROGRAM`→app, `PID`→pid,
 * `ISODATE` (else the RFC 3164 `DATE`, read near `now`)→ts, `PRIORITY`→severity, `FACILITY`→facility;
 * structured data (`.SDATA.id.param` headers, a `_SDATA` body key) as `fields.sdata` = `{id: {param: value}}`, anything else a lower-case field.
 */
export function fromSyslogNg(source: Record<string, unknown>, now: Date): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields: Record<string, unknown> = {};
  const sdata: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(source)) {
    const part = PARTS[name];
    if (part !== undefined) out[part] = value;
    else if (name.startsWith('.SDATA.')) {
      // `.SDATA.<id>.<param>`, as format-json nests it: { <id>: { <param>: value } }.
      const path = name.slice('.SDATA.'.length);
      const dot = path.lastIndexOf('.');
      const id = dot > 0 ? path.slice(0, dot) : path;
      const element = (sdata[id] ??= {}) as Record<string, unknown>;
      element[dot > 0 ? path.slice(dot + 1) : ''] = value;
    } else if (name === '_SDATA') Object.assign(sdata, value);
    else if (name === 'SOURCEIP') fields.sender = value;
    else if (!REDUNDANT.has(name) && /^[A-Z_]+$/.test(name)) fields[name.toLowerCase()] = value;
  }
  if (out.ts === undefined && typeof source.DATE === 'string') {
    const ts = bsdTimeToIso(source.DATE, now);
    if (ts !== undefined) out.ts = ts;
  }
  if (Object.keys(sdata).length > 0) fields.sdata = sdata;
  if (Object.keys(fields).length > 0) out.fields = fields;
  return out;
}
