import React from 'react';
import { Box, Text } from 'ink';
import type { Severity, StoredRecord } from '../../protocol/index.js';
import { topFacilities } from '../counts.js';
import { formatTextLine, sanitize, severityStyle } from '../format.js';
import type { Detail, TailState } from '../state.js';
import { sparkline, VOLUME_COLUMNS, VOLUME_STEP_MS, volumeRows } from '../volume.js';

/** Short labels keep the counts on one header line at 120 columns. */
export const SHORT: Readonly<Record<Severity, string>> = {
  emergency: 'emerg',
  alert: 'alert',
  critical: 'crit',
  error: 'err',
  warning: 'warn',
  notice: 'notice',
  info: 'info',
  debug: 'debug',
};

export const number = new Intl.NumberFormat('en-US');

/** Ink's colour props for a severity's style (none without colour). */
function severityProps(severity: Severity, color: boolean): { color?: string; bold: boolean } {
  const style = severityStyle(severity, color);
  return { ...(style.color === undefined ? {} : { color: style.color }), bold: style.bold === true };
}

/** The volume rows drawn: every severity seen in the window, the busiest when they do not all fit. */
export function shownVolumeRows(
  state: TailState,
  now: number,
  maxRows: number,
): { severity: Severity; counts: number[] }[] {
  const rows = volumeRows(state.volume, now);
  if (rows.length <= maxRows) return rows;
  const total = (counts: number[]): number => counts.reduce((a, b) => a + b, 0);
  const busiest = new Set(
    [...rows]
      .sort((a, b) => total(b.counts) - total(a.counts))
      .slice(0, maxRows)
      .map((r) => r.severity),
  );
  return rows.filter((r) => busiest.has(r.severity));
}

/** Records per 10 s and severity over the last five minutes: Grafana Explore's volume, as bars. */
export function VolumePanel({
  state,
  color,
  now,
  maxRows,
}: {
  state: TailState;
  color: boolean;
  now: number;
  maxRows: number;
}): React.JSX.Element {
  const rows = shownVolumeRows(state, now, maxRows);
  const span = `${(VOLUME_COLUMNS * VOLUME_STEP_MS) / 60_000} min, ${VOLUME_STEP_MS / 1000} s a column`;
  if (rows.length === 0) return <Text dimColor>{`volume (${span}): no records in the window`}</Text>;
  const max = Math.max(...rows.flatMap((r) => r.counts));
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate-end">{`volume (${span}), peak ${number.format(max)} a column`}</Text>
      {rows.map(({ severity, counts }) => (
        <Text key={severity} wrap="truncate-end">
          {SHORT[severity].padEnd(7)}
          <Text {...severityProps(severity, color)}>{sparkline(counts, max)}</Text>
          {` ${number.format(counts.reduce((a, b) => a + b, 0))}`}
        </Text>
      ))}
    </Box>
  );
}

/** The busiest facilities and hosts of what the screen has received. */
export function TopLine({ state }: { state: TailState }): React.JSX.Element {
  const list = (entries: [string, number][]): string =>
    entries.length === 0 ? '–' : entries.map(([name, n]) => `${name} ${number.format(n)}`).join(', ');
  return (
    <Text wrap="truncate-end">
      <Text dimColor>top facilities </Text>
      {list(topFacilities(state, 5))}
      <Text dimColor> · hosts </Text>
      {list(topFacilities({ byFacility: state.byHost }, 5))}
    </Text>
  );
}

/** The held records around the cursor, the cursor's marked and the filter's matches highlighted. */
export function Scrollback({
  state,
  color,
  height,
}: {
  state: TailState;
  color: boolean;
  height: number;
}): React.JSX.Element | null {
  const browse = state.browse;
  if (browse === null) return null;
  const index = Math.max(0, Math.min(state.held.length - 1, browse.cursor - state.heldOffset));
  const rows = Math.max(1, height - 1);
  const start = Math.max(0, Math.min(index - Math.floor(rows / 2), state.held.length - rows));
  const shown = state.held.slice(start, start + rows);
  const highlight = state.filter?.highlight;
  const title =
    `scrollback: ${number.format(index + 1)} of ${number.format(state.held.length)} held` +
    (state.heldOffset > 0 ? ` (${number.format(state.heldOffset)} older let go)` : '') +
    (state.filter === null ? '' : ` · n/N: next/previous match of ${state.filter.source}`);
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate-end">
        {title}
      </Text>
      {shown.map((record, i) => {
        const selected = start + i === index;
        const matched = state.filter?.test(record) === true;
        return (
          <Text key={state.heldOffset + start + i} wrap="truncate-end">
            <Text {...(color ? { color: 'cyan' } : {})} bold>
              {selected ? '▶' : ' '}
            </Text>
            {matched ? '• ' : '  '}
            {selected ? (
              <Text bold>{formatTextLine(record, color, highlight)}</Text>
            ) : (
              formatTextLine(record, color, highlight)
            )}
          </Text>
        );
      })}
    </Box>
  );
}

/** A record's fields as `path = value` lines, nested objects by dotted path. */
export function fieldLines(fields: Record<string, unknown> | undefined, prefix = ''): string[] {
  if (fields === undefined) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const path = `${prefix}${key}`;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      out.push(...fieldLines(value as Record<string, unknown>, `${path}.`));
    else out.push(`${path} = ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return out;
}

function describe(record: StoredRecord): string[] {
  const local = new Date(record.ts);
  return [
    `id        ${record.id ?? '(none: the publisher gave it no id)'}`,
    `time      ${record.ts}${Number.isNaN(local.getTime()) ? '' : `  (local ${local.toString()})`}`,
    `key       ${record.routing_key}  (facility ${record.facility}, severity ${record.severity})`,
    ...(record.host === undefined ? [] : [`host      ${record.host}`]),
    ...(record.app === undefined
      ? []
      : [`app       ${record.app}${record.pid === undefined ? '' : `[${record.pid}]`}`]),
    `message   ${sanitize(record.msg)}`,
    ...fieldLines(record.fields).map(
      (line, i) => `${i === 0 ? 'fields    ' : '          '}${sanitize(line)}`,
    ),
  ];
}

/** The selected record whole, then the lines around it in its stream (same host and app). */
export function DetailPanel({
  detail,
  color,
  height,
}: {
  detail: Detail;
  color: boolean;
  height: number;
}): React.JSX.Element {
  const head = describe(detail.record);
  const context = detail.context;
  const room = Math.max(1, height - head.length - 2);
  let body: React.JSX.Element[];
  if (context.state === 'loading') body = [<Text key="loading">loading the lines around it…</Text>];
  else if (context.state === 'failed') {
    body = [
      <Text
        key="failed"
        {...(color ? { color: 'red' } : {})}
      >{`context unavailable: ${context.message}`}</Text>,
      ...(context.hint === undefined ? [] : [<Text key="hint" dimColor>{`hint: ${context.hint}`}</Text>]),
    ];
  } else {
    // The record's own line in the middle of what fits.
    const start = Math.max(0, Math.min(context.target - Math.floor(room / 2), context.records.length - room));
    body = context.records.slice(start, start + room).map((record, i) => (
      <Text key={start + i} wrap="truncate-end">
        <Text {...(color ? { color: 'cyan' } : {})} bold>
          {start + i === context.target ? '▶ ' : '  '}
        </Text>
        {formatTextLine(record, color)}
      </Text>
    ));
  }
  return (
    <Box flexDirection="column">
      <Text dimColor>── record (Esc back · r reload context) ──</Text>
      {head.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line}
        </Text>
      ))}
      <Text dimColor>── context: same host and app, in time order ──</Text>
      {body}
    </Box>
  );
}

const HELP: readonly [string, string][] = [
  ['space', 'pause / follow the stream'],
  ['↑ ↓  k j', 'browse the scrollback (pauses), a line at a time'],
  ['PgUp PgDn', 'a page at a time'],
  ['Home End  g G', 'the oldest / newest record held'],
  ['Enter', "the selected record's fields and its context (GET /api/logs/context)"],
  ['Esc', 'back (from the record to the scrollback, from the scrollback to the stream)'],
  ['/', 'filter: the query language (error host:web-* status:>=500) or /regex/'],
  ['n N', 'next / previous record the filter matches'],
  ['s', 'minimum severity'],
  ['c', 'clear the counts'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

export function HelpPanel(): React.JSX.Element {
  return (
    <Box flexDirection="column">
      <Text bold>keys (any key closes)</Text>
      {HELP.map(([keys, what]) => (
        <Text key={keys}>
          <Text bold>{keys.padEnd(16)}</Text>
          {what}
        </Text>
      ))}
    </Box>
  );
}
