/**
 * Timestamps in one place: what an epoch number means, and how the agent (reading log lines) and
 * the collector (reading bodies and AMQP properties) turn what they are given into ISO 8601.
 */

/** Epoch numbers below this are seconds: 1e11 s is the year 5138, while 1e11 ms is 1973. */
const SECONDS_BELOW = 1e11;

/** An epoch time as milliseconds, whether written in seconds (AMQP, some loggers) or milliseconds (pino, bunyan). */
export function epochToMs(epoch: number): number {
  return epoch < SECONDS_BELOW ? epoch * 1000 : epoch;
}

/** An AMQP timestamp (seconds, or milliseconds from some clients) as ISO 8601; `now` when it has none. */
export function amqpTimestampToIso(timestamp: number | undefined, now: Date): string {
  if (timestamp === undefined || !Number.isFinite(timestamp) || timestamp <= 0) return now.toISOString();
  const date = new Date(epochToMs(timestamp));
  return Number.isNaN(date.getTime()) ? now.toISOString() : date.toISOString();
}

/** What agents send and `toISOString()` writes: `d` is any digit, the rest is literal. */
const ISO_SHAPE = 'dddd-dd-ddTdd:dd:dd.dddZ';
const DIGIT = 0x64; // 'd'

function twoDigits(text: string, at: number): number {
  return (text.charCodeAt(at) - 48) * 10 + (text.charCodeAt(at + 1) - 48);
}

/**
 * True when `text` already is what `new Date(text).toISOString()` would give, so the hot path can
 * keep it instead of formatting a new string. V8 parses this shape strictly but rolls a day past
 * the month's end or hour 24 over into the next day, so those take the slow path.
 */
function isCanonicalIso(text: string): boolean {
  if (text.length !== ISO_SHAPE.length) return false;
  for (let at = 0; at < ISO_SHAPE.length; at++) {
    const code = text.charCodeAt(at);
    const want = ISO_SHAPE.charCodeAt(at);
    if (want === DIGIT ? code < 48 || code > 57 : code !== want) return false;
  }
  return twoDigits(text, 8) <= 28 && twoDigits(text, 11) <= 23;
}

/** A record's or log line's time (epoch seconds or ms, as a number or digits, or a date text) as ISO 8601; undefined if unreadable. */
export function logTimeToIso(value: unknown): string | undefined {
  let date: Date;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    date = new Date(epochToMs(value));
  } else if (typeof value === 'string' && value !== '') {
    if (isCanonicalIso(value)) return value;
    date = new Date(/^\d+(\.\d+)?$/.test(value) ? epochToMs(Number(value)) : value);
  } else {
    return undefined;
  }
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** An RFC 3164 time, `Mmm dd hh:mm:ss` (day space-padded, optional fraction), at the start of a text. */
export const BSD_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/;

/**
 * An RFC 3164 time (no year, no zone: local time) as ISO 8601, with the year that puts it nearest
 * to `now` (December logs read in January); undefined when it is not one.
 */
export function bsdTimeToIso(textOrMatch: string | RegExpExecArray, now: Date): string | undefined {
  const match = typeof textOrMatch === 'string' ? BSD_TIME.exec(textOrMatch) : textOrMatch;
  if (match === null) return undefined;
  const month = MONTHS.indexOf(match[1] ?? '');
  if (month < 0) return undefined;
  const day = Number((match[2] ?? '').trim());
  const [h, m, s] = [Number(match[3]), Number(match[4]), Number(match[5])];
  const ms = match[6] === undefined ? 0 : Math.round(Number(`0.${match[6]}`) * 1000);
  let best: Date | undefined;
  for (const year of [now.getFullYear() - 1, now.getFullYear(), now.getFullYear() + 1]) {
    const date = new Date(year, month, day, h, m, s, ms);
    if (
      best === undefined ||
      Math.abs(date.getTime() - now.getTime()) < Math.abs(best.getTime() - now.getTime())
    )
      best = date;
  }
  return best === undefined || Number.isNaN(best.getTime()) ? undefined : best.toISOString();
}
