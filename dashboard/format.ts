import { Chalk, type ChalkInstance } from 'chalk';
import { severityRank, type Severity, type StoredRecord } from '../protocol/index.js';
import { splitAt, type Ranges } from './highlight.js';

/** How a record's severity is styled, in the terms both chalk and Ink's <Text> understand. */
export interface SeverityStyle {
  color?: 'yellow' | 'red' | 'gray';
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

/**
 * The colours people expect from a log viewer: debug dim, info plain, notice/warning yellow,
 * error red, critical and above bold red (alert/emergency inverse so they can't be missed).
 * Without colour, bold still marks critical and above.
 */
export function severityStyle(severity: Severity, color: boolean): SeverityStyle {
  const rank = severityRank(severity);
  if (!color) return rank <= severityRank('critical') ? { bold: true } : {};
  switch (severity) {
    case 'debug':
      return { dim: true };
    case 'info':
      return {};
    case 'notice':
    case 'warning':
      return { color: 'yellow' };
    case 'error':
      return { color: 'red' };
    case 'critical':
      return { color: 'red', bold: true };
    default:
      return { color: 'red', bold: true, inverse: true };
  }
}

/** `--color auto|always|never` plus NO_COLOR (https://no-color.org): resolved once at the edge. */
export type ColorMode = 'auto' | 'always' | 'never';

export function resolveColor(mode: ColorMode, isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY;
}

/**
 * Local wall-clock time with milliseconds, the way `journalctl` and `stern` show it; with the date
 * in front when the record is not from today (a 2023 record must not read as this afternoon).
 */
export function formatTime(ts: string, now: Date = new Date()): string {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return ts.padEnd(12);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  const today =
    date.getFullYear() === now.getFullYear() &&
    date.getMonth() === now.getMonth() &&
    date.getDate() === now.getDate();
  return today ? time : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

function compactValue(value: unknown): string {
  if (typeof value === 'string') return /[\s="]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value) ?? 'undefined';
}

/** Fields as `k=v k2="two words"`, logfmt style, so a line stays one line. */
export function formatFields(fields: Record<string, unknown> | undefined, maxLength = 200): string {
  if (fields === undefined) return '';
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}=${compactValue(v)}`)
    .join(' ');
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** Where a record came from: `host app[pid]`, each part only when known. */
export function formatSource(record: StoredRecord): string {
  const app =
    record.app === undefined ? '' : record.pid === undefined ? record.app : `${record.app}[${record.pid}]`;
  return [record.host, app].filter((p) => p !== undefined && p !== '').join(' ');
}

/** Control characters would move the cursor or clear the screen; show them instead. */
export function sanitize(text: string): string {
  return (
    text
      .replace(/\r?\n/g, ' ⏎ ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  );
}

/** The columns of one text line, sanitised: nothing a record says can move the cursor. */
interface LineParts {
  time: string;
  facility: string;
  severity: string;
  source: string;
  msg: string;
  fields: string;
}

function lineParts(record: StoredRecord): LineParts {
  return {
    time: formatTime(record.ts),
    facility: record.facility,
    severity: record.severity,
    source: sanitize(formatSource(record)),
    msg: sanitize(record.msg),
    fields: sanitize(formatFields(record.fields)),
  };
}

function applyStyle(chalk: ChalkInstance, style: SeverityStyle, text: string): string {
  let c = chalk;
  if (style.color !== undefined) c = c[style.color];
  if (style.bold === true) c = c.bold;
  if (style.dim === true) c = c.dim;
  if (style.inverse === true) c = c.inverse;
  return c === chalk ? text : c(text);
}

const PLAIN = new Chalk({ level: 0 });
const COLOURED = new Chalk({ level: 1 });

/** Marks where a filter matched: inverse video, which reads without colour too. */
const MARK = new Chalk({ level: 1 }).inverse;

/**
 * One record as a text line (no trailing newline): time, facility, severity, source, message, fields.
 * `highlight` marks where the screen's filter matched the message.
 */
export function formatTextLine(
  record: StoredRecord,
  color: boolean,
  highlight?: (text: string) => Ranges,
): string {
  const chalk = color ? COLOURED : PLAIN;
  const parts = lineParts(record);
  const style = severityStyle(record.severity, color);
  const severity = applyStyle(chalk, style, parts.severity.padEnd(9));
  const styled = record.severity === 'debug' || severityRank(record.severity) <= severityRank('error');
  const paint = (text: string): string => (styled ? applyStyle(chalk, style, text) : text);
  const msg =
    highlight === undefined
      ? paint(parts.msg)
      : splitAt(parts.msg, highlight(parts.msg))
          .map(([piece, hit]) => (hit ? MARK(piece) : paint(piece)))
          .join('');
  const head = `${chalk.dim(parts.time)} ${parts.facility.padEnd(8)} ${severity}`;
  const source = parts.source === '' ? '' : ` ${chalk.cyan(parts.source)}`;
  const fields = parts.fields === '' ? '' : ` ${chalk.dim(parts.fields)}`;
  return `${head}${source} ${msg}${fields}`;
}

/** One record as an NDJSON line (no trailing newline): the record as the API serves it. */
export function formatJsonLine(record: StoredRecord): string {
  return JSON.stringify(record);
}
