import type { Severity, StoredRecord } from '../protocol/index.js';
import { addCounts, addFacilityCounts, countBySeverity, subtractRecords } from './counts.js';
import { appendLines, drawList, drawRecords } from './draw.js';
import type { ConnectionStatus } from './output/sink.js';
import { addToRate, trimRate } from './rates.js';
import { countsFrom, EMPTY_PAUSE_BUFFER, parseFilter, type TailState } from './state.js';
import { addToTally, emptyTally, type Tally } from './tally.js';

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
  | { type: 'promptCancel' };

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
    rateBuckets: addToRate(state.rateBuckets, now, tally.total),
  };
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
      return onTally(state, addToTally(emptyTally(), state, action.records), action.now);
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
      return state.paused ? resume(state) : { ...state, paused: true };
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
