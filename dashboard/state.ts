import { SEVERITIES, severityRank, type Severity, type StoredRecord } from '../protocol/index.js';
import type { ConnectionStatus } from './output/sink.js';

export interface Connection {
  readonly status: ConnectionStatus;
  readonly detail: string | undefined;
  /** How many times the broker connection was re-established. */
  readonly reconnects: number;
}

export type SeverityCounts = Readonly<Record<Severity, number>>;

/** One finished line on screen; `key` is unique for the whole run (React keys, <Static>). */
export type Line =
  | { readonly kind: 'record'; readonly key: number; readonly record: StoredRecord }
  | {
      readonly kind: 'skipped';
      readonly key: number;
      readonly count: number;
      readonly bySeverity: Partial<SeverityCounts>;
      readonly reason: 'rate' | 'paused';
    }
  | { readonly kind: 'notice'; readonly key: number; readonly text: string };

/** Lines appended together (one batch): one <Static> item, so a frame costs one node, not hundreds. */
export interface LineBlock {
  readonly key: number;
  readonly lines: readonly Line[];
}

export interface Filter {
  /** As the user typed it. */
  readonly source: string;
  readonly test: (record: StoredRecord) => boolean;
}

export interface Limits {
  /** Lines drawn per batch (the screen batches every ~100 ms): up to this many, all are drawn. */
  readonly linesPerBatch: number;
  /**
   * Lines drawn from a batch larger than linesPerBatch (a flood): the newest few, the rest summarised.
   * Drawing is what costs (Ink styles every character), so a flood draws less, not more.
   * 20 per ~100 ms batch (200 lines/s, more than a 45-row terminal shows): 40 cost 0.46 CPU s/s at
   * 20 000 records/s, 20 cost 0.32 (Ink's wrap and ANSI tokenising are most of it).
   */
  readonly floodLines: number;
  /** Records kept while paused; beyond it they are counted and summarised on resume. */
  readonly pauseBuffer: number;
  /** Lines kept for one <Static> generation before a fresh one starts (bounds memory). */
  readonly linesPerGeneration: number;
  /** Distinct facilities counted; the rest go under `other`. */
  readonly facilities: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  linesPerBatch: 400,
  floodLines: 20,
  pauseBuffer: 10_000,
  linesPerGeneration: 1_000,
  facilities: 200,
});

export interface TailState {
  readonly patterns: readonly string[];
  readonly connection: Connection;
  readonly startedAt: number;
  /** Records received since start (or the last clear), whatever the filters. */
  readonly total: number;
  readonly bySeverity: SeverityCounts;
  readonly byFacility: ReadonlyMap<string, number>;
  /** Records per whole second, newest last: [second, count]; at most RATE_WINDOW + 1 entries. */
  readonly rateBuckets: readonly (readonly [number, number])[];
  /** Records the broker dropped because the tail could not keep up (the capped queue's overflow). */
  readonly dropped: number;
  /** Records received but summarised instead of drawn, to keep up. */
  readonly skipped: number;
  readonly paused: boolean;
  readonly pending: readonly StoredRecord[];
  /** Records that arrived while paused and did not fit the pause buffer. */
  readonly pendingOverflow: number;
  readonly pendingOverflowBySeverity: Partial<SeverityCounts>;
  readonly filter: Filter | null;
  readonly minSeverity: Severity | null;
  /** The current <Static> generation's lines: append-only until the generation changes. */
  readonly lines: readonly Line[];
  /** The same lines grouped as appended: what <Static> renders. */
  readonly blocks: readonly LineBlock[];
  readonly generation: number;
  readonly nextKey: number;
  /** The `/` filter prompt while it is open. */
  readonly prompt: { readonly text: string; readonly error: string | undefined } | null;
  readonly limits: Limits;
}

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

/** Seconds the records/s figure averages over. */
export const RATE_WINDOW = 5;

function zeroCounts(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
}

export function initialState(
  patterns: readonly string[],
  now: number,
  limits: Limits = DEFAULT_LIMITS,
  minSeverity: Severity | null = null,
): TailState {
  return {
    patterns,
    connection: { status: 'connecting', detail: undefined, reconnects: 0 },
    startedAt: now,
    total: 0,
    bySeverity: zeroCounts(),
    byFacility: new Map(),
    rateBuckets: [],
    dropped: 0,
    skipped: 0,
    paused: false,
    pending: [],
    pendingOverflow: 0,
    pendingOverflowBySeverity: {},
    filter: null,
    minSeverity,
    lines: [],
    blocks: [],
    generation: 0,
    nextKey: 0,
    prompt: null,
    limits,
  };
}

/**
 * A filter from what the user typed: `/regex/flags` is a regular expression, anything else a
 * case-insensitive substring. Both look at the message, host, app, routing key and fields.
 */
export function parseFilter(text: string): Filter {
  const source = text.trim();
  const regex = /^\/(.+)\/([a-z]*)$/.exec(source);
  let match: (haystack: string) => boolean;
  if (regex !== null) {
    const [, body = '', flags = ''] = regex;
    const re = new RegExp(body, flags.replace('g', '') || 'i');
    match = (h) => re.test(h);
  } else {
    const needle = source.toLowerCase();
    match = (h) => h.toLowerCase().includes(needle);
  }
  return {
    source,
    test: (r) =>
      match(r.msg) ||
      (r.host !== undefined && match(r.host)) ||
      (r.app !== undefined && match(r.app)) ||
      match(r.routing_key) ||
      (r.fields !== undefined && match(JSON.stringify(r.fields))),
  };
}

function visible(state: TailState, record: StoredRecord): boolean {
  if (state.minSeverity !== null && severityRank(record.severity) > severityRank(state.minSeverity))
    return false;
  return state.filter === null || state.filter.test(record);
}

function countBySeverity(records: readonly StoredRecord[], into: Partial<Record<Severity, number>> = {}) {
  const counts = { ...into };
  for (const r of records) counts[r.severity] = (counts[r.severity] ?? 0) + 1;
  return counts;
}

/** Appends lines to the current generation, or starts a new one when it is full. */
function appendLines(state: TailState, make: (key: number) => Line[]): TailState {
  const lines = make(state.nextKey);
  if (lines.length === 0) return state;
  const nextKey = state.nextKey + lines.length;
  const block: LineBlock = { key: state.nextKey, lines };
  if (state.lines.length + lines.length > state.limits.linesPerGeneration) {
    return { ...state, lines, blocks: [block], generation: state.generation + 1, nextKey };
  }
  return { ...state, lines: [...state.lines, ...lines], blocks: [...state.blocks, block], nextKey };
}

/**
 * Records that arrived between two frames, already counted and filtered. The screen folds each
 * message into one as it arrives and keeps only the newest visible records, so a flood of 20 000
 * records/s is not held in memory for a frame: only what can be drawn is.
 */
export interface Tally {
  total: number;
  bySeverity: Partial<Record<Severity, number>>;
  byFacility: Map<string, number>;
  /** Visible (filter and minimum severity pass) records, all of them: what a frame may draw. */
  visibleCount: number;
  visibleBySeverity: Partial<Record<Severity, number>>;
  /** The newest visible records, at most `keep` of them (all of them while paused). */
  visible: StoredRecord[];
}

export function emptyTally(): Tally {
  return {
    total: 0,
    bySeverity: {},
    byFacility: new Map(),
    visibleCount: 0,
    visibleBySeverity: {},
    visible: [],
  };
}

/** How many visible records a tally must keep for the next frame in this state. */
export function tallyKeep(state: TailState): number {
  return state.paused
    ? Math.max(0, state.limits.pauseBuffer - state.pending.length)
    : state.limits.linesPerBatch;
}

/** Folds records into a tally, using the state's filters at arrival. */
export function addToTally(tally: Tally, state: TailState, records: readonly StoredRecord[]): Tally {
  const keep = tallyKeep(state);
  for (const r of records) {
    tally.total++;
    tally.bySeverity[r.severity] = (tally.bySeverity[r.severity] ?? 0) + 1;
    tally.byFacility.set(r.facility, (tally.byFacility.get(r.facility) ?? 0) + 1);
    if (!visible(state, r)) continue;
    tally.visibleCount++;
    tally.visibleBySeverity[r.severity] = (tally.visibleBySeverity[r.severity] ?? 0) + 1;
    if (state.paused) {
      if (tally.visible.length < keep) tally.visible.push(r);
    } else {
      tally.visible.push(r);
      // Once this frame is a flood only the newest floodLines will be drawn: keep no more, so
      // records die young instead of being promoted to the old generation (RSS at 20 000/s).
      const limit = tally.visibleCount > keep ? Math.min(keep, state.limits.floodLines) : keep;
      if (tally.visible.length >= limit * 2 + 16) tally.visible.splice(0, tally.visible.length - limit);
    }
  }
  return tally;
}

function minus(
  counts: Partial<Record<Severity, number>>,
  records: readonly StoredRecord[],
): Partial<Record<Severity, number>> {
  const out = { ...counts };
  for (const r of records) {
    const n = (out[r.severity] ?? 0) - 1;
    if (n > 0) out[r.severity] = n;
    else delete out[r.severity];
  }
  return out;
}

/**
 * Draws visible records: all of them up to `linesPerBatch`; beyond that (a flood) only the newest
 * `floodLines`, and one summary line saying how many were skipped and how severe they were.
 */
function draw(
  state: TailState,
  count: number,
  bySeverity: Partial<Record<Severity, number>>,
  newest: readonly StoredRecord[],
  reason: 'rate' | 'paused',
): TailState {
  const flood = count > state.limits.linesPerBatch;
  const shown = flood ? newest.slice(-Math.min(state.limits.floodLines, state.limits.linesPerBatch)) : newest;
  const skipped = count - shown.length;
  const next = appendLines(state, (key) => {
    const out: Line[] = [];
    if (skipped > 0) {
      out.push({ kind: 'skipped', key: key++, count: skipped, bySeverity: minus(bySeverity, shown), reason });
    }
    for (const record of shown) out.push({ kind: 'record', key: key++, record });
    return out;
  });
  return skipped === 0 ? next : { ...next, skipped: next.skipped + skipped };
}

function drawList(state: TailState, records: readonly StoredRecord[], reason: 'rate' | 'paused'): TailState {
  return draw(state, records.length, countBySeverity(records), records, reason);
}

function count(state: TailState, tally: Tally, now: number): TailState {
  const bySeverity = { ...state.bySeverity };
  for (const [severity, n] of Object.entries(tally.bySeverity) as [Severity, number][])
    bySeverity[severity] += n;
  const byFacility = new Map(state.byFacility);
  for (const [name, n] of tally.byFacility) {
    const facility = byFacility.has(name) || byFacility.size < state.limits.facilities ? name : 'other';
    byFacility.set(facility, (byFacility.get(facility) ?? 0) + n);
  }
  const second = Math.floor(now / 1000);
  const buckets = state.rateBuckets.filter(([s]) => s > second - RATE_WINDOW - 1);
  const last = buckets[buckets.length - 1];
  if (last !== undefined && last[0] === second) buckets[buckets.length - 1] = [second, last[1] + tally.total];
  else buckets.push([second, tally.total]);
  return { ...state, total: state.total + tally.total, bySeverity, byFacility, rateBuckets: buckets };
}

function onTally(state: TailState, tally: Tally, now: number): TailState {
  if (tally.total === 0) return state;
  const counted = count(state, tally, now);
  if (tally.visibleCount === 0) return counted;
  if (!counted.paused)
    return draw(counted, tally.visibleCount, tally.visibleBySeverity, tally.visible, 'rate');
  const room = Math.max(0, counted.limits.pauseBuffer - counted.pending.length);
  const kept = tally.visible.slice(0, room);
  const overflow = tally.visibleCount - kept.length;
  return {
    ...counted,
    pending: kept.length === 0 ? counted.pending : [...counted.pending, ...kept],
    pendingOverflow: counted.pendingOverflow + overflow,
    pendingOverflowBySeverity:
      overflow === 0
        ? counted.pendingOverflowBySeverity
        : mergeCounts(counted.pendingOverflowBySeverity, minus(tally.visibleBySeverity, kept)),
  };
}

function mergeCounts(
  a: Partial<Record<Severity, number>>,
  b: Partial<Record<Severity, number>>,
): Partial<Record<Severity, number>> {
  const out = { ...a };
  for (const [severity, n] of Object.entries(b) as [Severity, number][])
    out[severity] = (out[severity] ?? 0) + n;
  return out;
}

function resume(state: TailState): TailState {
  let next: TailState = {
    ...state,
    paused: false,
    pending: [],
    pendingOverflow: 0,
    pendingOverflowBySeverity: {},
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
      const second = Math.floor(action.now / 1000);
      const buckets = state.rateBuckets.filter(([s]) => s > second - RATE_WINDOW - 1);
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
        startedAt: action.now,
        total: 0,
        bySeverity: zeroCounts(),
        byFacility: new Map(),
        rateBuckets: [],
        skipped: 0,
        pending: [],
        pendingOverflow: 0,
        pendingOverflowBySeverity: {},
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

/** Records per second over the last RATE_WINDOW whole seconds (or since start, when shorter). */
export function recordsPerSecond(state: TailState, now: number): number {
  const second = Math.floor(now / 1000);
  const from = second - RATE_WINDOW;
  let sum = 0;
  for (const [s, n] of state.rateBuckets) if (s >= from && s < second) sum += n;
  const elapsed = Math.min(RATE_WINDOW, Math.max(1, second - Math.floor(state.startedAt / 1000)));
  return sum / elapsed;
}

/** The busiest facilities since start, most records first. */
export function topFacilities(state: TailState, n: number): [string, number][] {
  return [...state.byFacility.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}
