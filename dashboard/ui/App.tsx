import React, { useSyncExternalStore } from 'react';
import { Box, Static, Text, useApp, useInput } from 'ink';
import { SEVERITIES, type Severity } from '../../protocol/index.js';
import { Chalk } from 'chalk';
import { formatTextLine, severityStyle } from '../format.js';
import type { Store } from '../screen.js';
import { topFacilities } from '../counts.js';
import type { ConnectionStatus } from '../output/sink.js';
import { recordsPerSecond } from '../rates.js';
import type { Line, LineBlock, TailState } from '../state.js';

const chalk = new Chalk({ level: 1 });

/** Short labels keep the counts on one header line at 120 columns. */
const SHORT: Readonly<Record<Severity, string>> = {
  emergency: 'emerg',
  alert: 'alert',
  critical: 'crit',
  error: 'err',
  warning: 'warn',
  notice: 'notice',
  info: 'info',
  debug: 'debug',
};

const STATUS_LABEL: Readonly<Record<ConnectionStatus, { text: string; color: string }>> = {
  connecting: { text: '○ connecting', color: 'yellow' },
  backfilling: { text: '◐ backfilling', color: 'cyan' },
  live: { text: '● live', color: 'green' },
  reconnecting: { text: '○ reconnecting', color: 'red' },
  closed: { text: '○ closed', color: 'gray' },
};

const number = new Intl.NumberFormat('en-US');

function severityText(severity: Severity, text: string, color: boolean): React.JSX.Element {
  const style = severityStyle(severity, color);
  return (
    <Text
      {...(style.color === undefined ? {} : { color: style.color })}
      bold={style.bold === true}
      dimColor={style.dim === true}
      inverse={style.inverse === true}
    >
      {text}
    </Text>
  );
}

function summary(counts: Partial<Record<Severity, number>>): string {
  return SEVERITIES.filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${number.format(counts[s] ?? 0)} ${SHORT[s]}`)
    .join(', ');
}

/** One finished line as text with its colours: time, facility, severity, source, message, fields. */
export function lineText(line: Line, color: boolean): string {
  if (line.kind === 'notice') return color ? chalk.cyan(`── ${line.text}`) : `── ${line.text}`;
  if (line.kind === 'skipped') {
    const why =
      line.reason === 'rate'
        ? 'skipped to keep up with the stream (use --json or a narrower pattern to see every record)'
        : 'arrived while paused and did not fit the pause buffer';
    const text = `⋯ ${number.format(line.count)} records ${why} (${summary(line.bySeverity)})`;
    return color ? chalk.magenta(text) : text;
  }
  return formatTextLine(line.record, color);
}

/**
 * One batch of finished lines as a single <Text>: rendered once into <Static>, so the terminal's
 * scrollback keeps it, and a frame of hundreds of lines costs one Ink node instead of a thousand.
 */
export function LogBlock({ block, color }: { block: LineBlock; color: boolean }): React.JSX.Element {
  return <Text>{block.lines.map((line) => lineText(line, color)).join('\n')}</Text>;
}

export function Header({
  state,
  color,
  now,
}: {
  state: TailState;
  color: boolean;
  now: number;
}): React.JSX.Element {
  const status = STATUS_LABEL[state.connection.status];
  const rate = recordsPerSecond(state, now);
  const facilities = topFacilities(state, 5);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>logtail</Text> {state.patterns.join(' ')}
        {'  '}
        <Text {...(color ? { color: status.color } : {})} bold>
          {status.text}
        </Text>
        {state.connection.detail === undefined ? '' : ` (${state.connection.detail})`}
        {state.connection.reconnects > 0 ? ` · reconnected ${state.connection.reconnects}×` : ''}
      </Text>
      <Text wrap="truncate-end">
        {`${number.format(Math.round(rate))} rec/s · ${number.format(state.total)} total · `}
        <Text {...(color && state.dropped > 0 ? { color: 'red' } : {})} bold={state.dropped > 0}>
          {`${number.format(state.dropped)} dropped`}
        </Text>
        {state.skipped > 0 ? ` · ${number.format(state.skipped)} summarised` : ''}
        {facilities.length === 0
          ? ''
          : ` · top: ${facilities.map(([f, n]) => `${f} ${number.format(n)}`).join(', ')}`}
      </Text>
      <Text wrap="truncate-end">
        {SEVERITIES.map((s, i) => (
          <Text key={s}>
            {i === 0 ? '' : ' '}
            {severityText(s, SHORT[s], color)} {number.format(state.bySeverity[s])}
          </Text>
        ))}
      </Text>
    </Box>
  );
}

export function StatusLine({ state, color }: { state: TailState; color: boolean }): React.JSX.Element {
  const parts: React.JSX.Element[] = [];
  if (state.paused) {
    parts.push(
      <Text key="paused" inverse {...(color ? { color: 'yellow' } : {})}>
        {` PAUSED +${number.format(state.pending.length + state.pendingOverflow)} new `}
      </Text>,
    );
  }
  if (state.filter !== null) parts.push(<Text key="filter">{` filter: ${state.filter.source} `}</Text>);
  if (state.minSeverity !== null) parts.push(<Text key="min">{` min: ${state.minSeverity} `}</Text>);
  if (state.prompt !== null) {
    return (
      <Box flexDirection="column">
        <Text>
          {'filter (text or /regex/, Enter apply, Esc cancel, empty clears)> '}
          {state.prompt.text}
          <Text inverse> </Text>
        </Text>
        {state.prompt.error === undefined ? null : (
          <Text {...(color ? { color: 'red' } : {})}>{`invalid filter: ${state.prompt.error}`}</Text>
        )}
      </Box>
    );
  }
  return (
    <Text wrap="truncate-end">
      {parts}
      <Text
        dimColor
      >{`${parts.length > 0 ? ' ' : ''}space ${state.paused ? 'follow' : 'pause'} · / filter · s severity · c clear · q quit`}</Text>
    </Text>
  );
}

export interface AppProps {
  store: Store;
  color: boolean;
  now?: () => number;
}

/** The screen: finished lines in <Static> (scrollback works), a small live header below them. */
export function App({ store, color, now = Date.now }: AppProps): React.JSX.Element {
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const { exit } = useApp();
  useInput((input, key) => {
    // The store, not the rendered state: keys typed faster than a frame must see each other.
    const prompt = store.getState().prompt;
    if (prompt !== null) {
      if (key.return) store.dispatch({ type: 'promptSubmit' });
      else if (key.escape) store.dispatch({ type: 'promptCancel' });
      else if (key.backspace || key.delete)
        store.dispatch({ type: 'promptInput', text: prompt.text.slice(0, -1) });
      else if (!key.ctrl && !key.meta && input !== '')
        store.dispatch({ type: 'promptInput', text: prompt.text + input });
      return;
    }
    if (input === 'q') exit();
    else if (input === ' ') store.dispatch({ type: 'togglePause' });
    else if (input === '/') store.dispatch({ type: 'promptOpen' });
    else if (input === 's') store.dispatch({ type: 'cycleSeverity' });
    else if (input === 'c') store.dispatch({ type: 'clear', now: now() });
  });
  return (
    <Box flexDirection="column">
      <Static key={state.generation} items={state.blocks as LineBlock[]}>
        {(block) => <LogBlock key={block.key} block={block} color={color} />}
      </Static>
      <Header state={state} color={color} now={now()} />
      <StatusLine state={state} color={color} />
    </Box>
  );
}
