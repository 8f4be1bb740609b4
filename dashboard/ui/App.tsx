import React, { useSyncExternalStore } from 'react';
import { Box, Static, Text, useApp, useInput, useStdout } from 'ink';
import { SEVERITIES, type Severity } from '../../protocol/index.js';
import { Chalk } from 'chalk';
import { formatTextLine, severityStyle } from '../format.js';
import type { Store } from '../screen.js';
import type { ConnectionStatus } from '../output/sink.js';
import { recordsPerSecond } from '../rates.js';
import type { Context, Line, LineBlock, TailState } from '../state.js';
import {
  DetailPanel,
  HelpPanel,
  number,
  Scrollback,
  SHORT,
  shownVolumeRows,
  TopLine,
  VolumePanel,
} from './Panels.js';

const chalk = new Chalk({ level: 1 });

const STATUS_LABEL: Readonly<Record<ConnectionStatus, { text: string; color: string }>> = {
  connecting: { text: '○ connecting', color: 'yellow' },
  backfilling: { text: '◐ backfilling', color: 'cyan' },
  live: { text: '● live', color: 'green' },
  reconnecting: { text: '○ reconnecting', color: 'red' },
  closed: { text: '○ closed', color: 'gray' },
};

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
  if (state.paused && state.browse === null) {
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
  const keys =
    state.browse === null
      ? `space ${state.paused ? 'follow' : 'pause'} · ↑ scrollback · / filter · s severity · c clear · ? help · q quit`
      : state.browse.detail === null
        ? '↑↓ PgUp PgDn Home End move · Enter details · / filter · n/N match · Esc follow · ? help'
        : 'Esc back · r reload context · ? help · q quit';
  if (state.browse !== null && state.paused) {
    const waiting = state.pending.length + state.pendingOverflow;
    if (waiting > 0) parts.push(<Text key="new">{` +${number.format(waiting)} new `}</Text>);
  }
  return (
    <Text wrap="truncate-end">
      {parts}
      <Text dimColor>{`${parts.length > 0 ? ' ' : ''}${keys}`}</Text>
    </Text>
  );
}

export interface AppProps {
  store: Store;
  color: boolean;
  now?: () => number;
  /** The lines around a record (the collector's context route); none: the panel says so. */
  loadContext?: ((id: string) => Promise<Context>) | undefined;
}

/**
 * Lines the screen keeps for everything but the scrollback: header, volume, top, status (two with
 * a filter error) and one spare, since Ink redraws the whole terminal once a frame fills it.
 */
function fixedLines(volumeRows: number): number {
  return 3 + (volumeRows === 0 ? 1 : volumeRows + 1) + 1 + 2 + 1;
}

/** The screen: finished lines in <Static> (scrollback works), a small live header below them. */
export function App({ store, color, now = Date.now, loadContext }: AppProps): React.JSX.Element {
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const { exit } = useApp();
  const { stdout } = useStdout();
  const rows = stdout.rows > 0 ? stdout.rows : 24;
  const volumeRows = shownVolumeRows(state, now(), rows >= 40 ? 8 : 4).length;
  const viewport = Math.max(3, rows - fixedLines(volumeRows));
  const showContext = (): void => {
    const record = store.getState().browse?.detail?.record;
    if (record === undefined) return;
    const id = record.id;
    if (id === null) {
      store.dispatch({
        type: 'context',
        id: null,
        context: noContext('this record has no id, so it cannot be found in the store'),
      });
      return;
    }
    if (loadContext === undefined) {
      store.dispatch({ type: 'context', id, context: noContext('no Warren API to ask') });
      return;
    }
    void loadContext(id).then((context) => store.dispatch({ type: 'context', id, context }));
  };
  // Typed ahead or pasted, text and Enter can come as one chunk: the Enter still applies.
  const typeIntoPrompt = (before: string, input: string): void => {
    const [text = '', ...rest] = input.split(/\r\n?|\n/);
    store.dispatch({ type: 'promptInput', text: before + text });
    if (rest.length > 0) store.dispatch({ type: 'promptSubmit' });
  };
  useInput((input, key) => {
    // The store, not the rendered state: keys typed faster than a frame must see each other.
    const current = store.getState();
    const prompt = current.prompt;
    if (prompt !== null) {
      if (key.return) store.dispatch({ type: 'promptSubmit' });
      else if (key.escape) store.dispatch({ type: 'promptCancel' });
      else if (key.backspace || key.delete)
        store.dispatch({ type: 'promptInput', text: prompt.text.slice(0, -1) });
      else if (!key.ctrl && !key.meta && input !== '') typeIntoPrompt(prompt.text, input);
      return;
    }
    if (input === 'q') {
      exit();
      return;
    }
    if (current.help) {
      store.dispatch({ type: 'toggleHelp' });
      return;
    }
    if (current.browse?.detail != null) {
      if (key.escape || key.backspace || key.return) store.dispatch({ type: 'closeDetail' });
      else if (input === 'r') {
        store.dispatch({ type: 'openDetail' });
        showContext();
      } else if (input === '?') store.dispatch({ type: 'toggleHelp' });
      return;
    }
    const page = viewport - 1;
    if (key.upArrow || input === 'k') store.dispatch({ type: 'browse', move: 'up', page });
    else if (key.downArrow || input === 'j') store.dispatch({ type: 'browse', move: 'down', page });
    else if (key.pageUp) store.dispatch({ type: 'browse', move: 'pageUp', page });
    else if (key.pageDown) store.dispatch({ type: 'browse', move: 'pageDown', page });
    else if (key.home || input === 'g') store.dispatch({ type: 'browse', move: 'oldest', page });
    else if (key.end || input === 'G') store.dispatch({ type: 'browse', move: 'newest', page });
    else if (input === 'n') store.dispatch({ type: 'findMatch', direction: 1 });
    else if (input === 'N') store.dispatch({ type: 'findMatch', direction: -1 });
    else if (input === '?') store.dispatch({ type: 'toggleHelp' });
    else if (key.return && current.browse !== null) {
      store.dispatch({ type: 'openDetail' });
      showContext();
    } else if (key.escape && current.browse !== null) store.dispatch({ type: 'follow' });
    else if (input === ' ') store.dispatch({ type: 'togglePause' });
    else if (input.startsWith('/')) {
      store.dispatch({ type: 'promptOpen' });
      // `/` and what follows it can arrive as one chunk (typed ahead, pasted, tmux send-keys).
      if (input.length > 1) typeIntoPrompt(store.getState().prompt?.text ?? '', input.slice(1));
    } else if (input === 's') store.dispatch({ type: 'cycleSeverity' });
    else if (input === 'c') store.dispatch({ type: 'clear', now: now() });
  });
  return (
    <Box flexDirection="column">
      <Static key={state.generation} items={state.blocks as LineBlock[]}>
        {(block) => <LogBlock key={block.key} block={block} color={color} />}
      </Static>
      <Header state={state} color={color} now={now()} />
      <VolumePanel state={state} color={color} now={now()} maxRows={rows >= 40 ? 8 : 4} />
      <TopLine state={state} />
      {state.help ? (
        <HelpPanel />
      ) : state.browse?.detail != null ? (
        <DetailPanel detail={state.browse.detail} color={color} height={viewport} />
      ) : (
        <Scrollback state={state} color={color} height={viewport} />
      )}
      <StatusLine state={state} color={color} />
    </Box>
  );
}

function noContext(message: string): Context {
  return { state: 'failed', message, hint: undefined };
}
