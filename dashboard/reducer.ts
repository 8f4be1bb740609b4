import type { Severity, StoredRecord } from '../protocol/index.js';
import { addCounts, addFacilityCounts, countBySeverity, subtractRecords } from './counts.js';
import { appendLines, drawList, drawRecords } from './draw.js';
import type { ConnectionStatus } from './output/sink.js';
import { addToRate, trimRate } from './rates.js';
import { countsFrom, EMPTY_PAUSE_BUFFER, parseFilter, type Context, type TailState } from './state.js';
import { addToTally, emptyTally, type Tally } from './tally.js';
import { mergeVolume } from './volume.js';

/** How the scrollback cursor moves: a line, a page (of `page` lines), or to either end. */
export type Move = 'up' | 'down' | 'pageUp' | 'pageDown' | 'oldest' | 'newest';

/** What can happen to the screen: records and connection news from the tail, keys from the user. */
export type Action =
  | { type: 'records'; records: readonly StoredRecord[]; now: number }
  | { type: 'tally'; tally: Tally; now: number }
  | { type: 'dropped'; count: number }
  | { type: 'connection'; status: ConnectionStatus; detail?: string | undefined }
  | { type: 'notice'; text: string }
  | { type: 'tick'; now: number }
  | { type: 'togglePause' }
  | { type: 'cycleSeverity' }
  | { type: 'clear'; now: number }
  | { type: 'promptOpen' }
  | { type: 'promptInput'; text: string }
  | { type: 'promptSubmit' }
  | { type: 'promptCancel' }
  | { type: 'browse'; move: Move; page: number }
  | { type: 'findMatch'; direction: 1 | -1 }
  | { type: 'openDetail' }
  | { type: 'context'; id: string | null; context: Context }
  | { type: 'closeDetail' }
  | { type: 'follow' }
  | { type: 'toggleHelp' };

/** Counts a frame's records: per severity, per facility and in the records/s window. */
function count(state: TailState, tally: Tally, now: number): TailState {
  const bySeverity = { ...state.bySeverity };
  for (const [severity, n] of Object.entries(tally.bySeverity) as [Severity, number][])
    bySeverity[severity] += n;
  return {
    ...state,
    total: state.total + tally.total,
    bySeverity,
    byFacility: addFacilityCounts(state.byFacility, tally.byFacility, state.limits.facilities),
    byHost: addFacilityCounts(state.byHost, tally.byHost, state.limits.facilities),
    volume: mergeVolume(state.volume, tally.volume, now),
    rateBuckets: addToRate(state.rateBuckets, now, tally.total),
    ...hold(state, tally.held),
  };
}

/** The scrollback with newly arrived records: the newest `limits.scrollback`, oldest first. */
function hold(state: TailState, records: readonly StoredRecord[]): Pick<TailState, 'held' | 'heldOffset'> {
  if (records.length === 0) return state;
  const all = [...state.held, ...records];
  const over = Math.max(0, all.length - state.limits.scrollback);
  return { held: over === 0 ? all : all.slice(over), heldOffset: state.heldOffset + over };
}

/** The cursor kept on a record still held: the oldest one once its own was let go. */
function clampCursor(state: TailState, cursor: number): number {
  const last = state.heldOffset + state.held.length - 1;
  return Math.max(state.heldOffset, Math.min(last, cursor));
}

/** Moves the scrollback cursor; the first move starts browsing at the newest record (and pauses). */
function browse(state: TailState, move: Move, page: number): TailState {
  if (state.held.length === 0) return state;
  const newest = state.heldOffset + state.held.length - 1;
  const from = state.browse === null ? newest : clampCursor(state, state.browse.cursor);
  const step = Math.max(1, page);
  const to =
    state.browse === null && (move === 'up' || move === 'pageUp')
      ? newest
      : move === 'up'
        ? from - 1
        : move === 'down'
          ? from + 1
          : move === 'pageUp'
            ? from - step
            : move === 'pageDown'
              ? from + step
              : move === 'oldest'
                ? state.heldOffset
                : newest;
  return {
    ...state,
    paused: true,
    browse: { cursor: clampCursor(state, to), detail: null },
  };
}

/** The next (1) or previous (-1) held record the `/` filter matches, from the cursor on. */
function findMatch(state: TailState, direction: 1 | -1): TailState {
  const filter = state.filter;
  if (filter === null || state.held.length === 0) return state;
  const newest = state.heldOffset + state.held.length - 1;
  const from =
    state.browse === null ? newest + (direction > 0 ? 0 : 1) : clampCursor(state, state.browse.cursor);
  for (let at = from + direction; at >= state.heldOffset && at <= newest; at += direction) {
    const record = state.held[at - state.heldOffset];
    if (record !== undefined && filter.test(record))
      return { ...state, paused: true, browse: { cursor: at, detail: null } };
  }
  return state;
}

/** A frame's records: counted, then drawn, or kept for the resume while paused. */
function onTally(state: TailState, tally: Tally, now: number): TailState {
  if (tally.total === 0) return state;
  const counted = count(state, tally, now);
  if (tally.visibleCount === 0) return counted;
  if (!counted.paused)
    return drawRecords(counted, tally.visibleCount, tally.visibleBySeverity, tally.visible, 'rate');
  // Paused, the buffer keeps the NEWEST records: resuming must show what is current, not what
  // happened to arrive first; the older ones are counted and summarised on resume.
  const unkept = tally.visibleCount - tally.visible.length;
  const combined = [...counted.pending, ...tally.visible];
  const evicted = combined.slice(0, Math.max(0, combined.length - counted.limits.pauseBuffer));
  const overflow = unkept + evicted.length;
  if (overflow === 0) return { ...counted, pending: combined };
  return {
    ...counted,
    pending: evicted.length === 0 ? combined : combined.slice(evicted.length),
    pendingOverflow: counted.pendingOverflow + overflow,
    pendingOverflowBySeverity: countBySeverity(
      evicted,
      addCounts(counted.pendingOverflowBySeverity, subtractRecords(tally.visibleBySeverity, tally.visible)),
    ),
  };
}

/** Follow again: what the pause buffer let go (the oldest) as one summary line, then the newest it kept. */
function resume(state: TailState): TailState {
  let next: TailState = {
    ...state,
    paused: false,
    ...EMPTY_PAUSE_BUFFER,
  };
  if (state.pendingOverflow > 0) {
    next = appendLines(next, (key) => [
      {
        kind: 'skipped',
        key,
        count: state.pendingOverflow,
        bySeverity: state.pendingOverflowBySeverity,
        reason: 'paused',
      },
    ]);
    next = { ...next, skipped: next.skipped + state.pendingOverflow };
  }
  return drawList(next, state.pending, 'paused');
}

/** The severities `s` cycles through: everything, then each minimum from debug up to critical. */
const SEVERITY_CYCLE: readonly (Severity | null)[] = [null, 'info', 'notice', 'warning', 'error', 'critical'];

/** The screen's one reducer: every change to its state is an action here. */
export function reduce(state: TailState, action: Action): TailState {
  switch (action.type) {
    case 'records':
      return onTally(state, addToTally(emptyTally(), state, action.records, action.now), action.now);
    case 'tally':
      return onTally(state, action.tally, action.now);
    case 'dropped':
      return action.count <= 0 ? state : { ...state, dropped: state.dropped + action.count };
    case 'connection': {
      const reconnected = action.status === 'live' && state.connection.status === 'reconnecting';
      return {
        ...state,
        connection: {
          status: action.status,
          detail: action.detail,
          reconnects: state.connection.reconnects + (reconnected ? 1 : 0),
        },
      };
    }
    case 'notice':
      return appendLines(state, (key) => [{ kind: 'notice', key, text: action.text }]);
    case 'tick': {
      const buckets = trimRate(state.rateBuckets, action.now);
      return buckets.length === state.rateBuckets.length ? state : { ...state, rateBuckets: buckets };
    }
    case 'togglePause':
      return state.paused ? resume({ ...state, browse: null }) : { ...state, paused: true };
    case 'follow':
      return state.paused ? resume({ ...state, browse: null }) : state;
    case 'browse':
      return browse(state, action.move, action.page);
    case 'findMatch':
      return findMatch(state, action.direction);
    case 'openDetail': {
      if (state.browse === null) return state;
      const record = state.held[clampCursor(state, state.browse.cursor) - state.heldOffset];
      if (record === undefined) return state;
      return { ...state, browse: { ...state.browse, detail: { record, context: { state: 'loading' } } } };
    }
    case 'context': {
      const detail = state.browse?.detail;
      // An answer for a record no longer open is dropped.
      if (state.browse == null || detail == null || detail.record.id !== action.id) return state;
      return { ...state, browse: { ...state.browse, detail: { ...detail, context: action.context } } };
    }
    case 'closeDetail':
      return state.browse === null ? state : { ...state, browse: { ...state.browse, detail: null } };
    case 'toggleHelp':
      return { ...state, help: !state.help };
    case 'cycleSeverity': {
      const index = SEVERITY_CYCLE.indexOf(state.minSeverity);
      return { ...state, minSeverity: SEVERITY_CYCLE[(index + 1) % SEVERITY_CYCLE.length] ?? null };
    }
    case 'clear':
      return {
        ...state,
        ...countsFrom(action.now),
        ...EMPTY_PAUSE_BUFFER,
      };
    case 'promptOpen':
      return { ...state, prompt: { text: state.filter?.source ?? '', error: undefined } };
    case 'promptInput':
      return state.prompt === null ? state : { ...state, prompt: { text: action.text, error: undefined } };
    case 'promptCancel':
      return { ...state, prompt: null };
    case 'promptSubmit': {
      if (state.prompt === null) return state;
      if (state.prompt.text.trim() === '') return { ...state, prompt: null, filter: null };
      try {
        return { ...state, prompt: null, filter: parseFilter(state.prompt.text) };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return { ...state, prompt: { text: state.prompt.text, error: message } };
      }
    }
  }
}
