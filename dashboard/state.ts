import { SEVERITIES, severityRank, type Severity, type StoredRecord } from '../protocol/index.js';

/** Where the live stream stands, for the header and stderr. */
export type ConnectionStatus = 'connecting' | 'backfilling' | 'live' | 'reconnecting' | 'closed';

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

export interface Filter {
  /** As the user typed it. */
  readonly source: string;
  readonly test: (record: StoredRecord) => boolean;
}

export interface Limits {
  /** Lines drawn per batch (the screen batches every ~100 ms); the rest is summarised. */
  readonly linesPerBatch: number;
  /** Records kept while paused; beyond it they are counted and summarised on resume. */
  readonly pauseBuffer: number;
  /** Lines kept for one <Static> generation before a fresh one starts (bounds memory). */
  readonly linesPerGeneration: number;
  /** Distinct facilities counted; the rest go under `other`. */
  readonly facilities: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  linesPerBatch: 250,
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
  readonly generation: number;
  readonly nextKey: number;
  /** The `/` filter prompt while it is open. */
  readonly prompt: { readonly text: string; readonly error: string | undefined } | null;
  readonly limits: Limits;
}

export type Action =
  | { type: 'records'; records: readonly StoredRecord[]; now: number }
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
  if (state.lines.length + lines.length > state.limits.linesPerGeneration) {
    return { ...state, lines, generation: state.generation + 1, nextKey };
  }
  return { ...state, lines: [...state.lines, ...lines], nextKey };
}

/**
 * Draws records, at most `linesPerBatch` of them: the newest are drawn, the older ones become one
 * summary line saying how many were skipped and how severe they were (never silently).
 */
function draw(state: TailState, records: readonly StoredRecord[], reason: 'rate' | 'paused'): TailState {
  const cap = state.limits.linesPerBatch;
  const skipped = records.length > cap ? records.slice(0, records.length - cap) : [];
  const shown = records.length > cap ? records.slice(records.length - cap) : records;
  const next = appendLines(state, (key) => {
    const out: Line[] = [];
    if (skipped.length > 0) {
      out.push({
        kind: 'skipped',
        key: key++,
        count: skipped.length,
        bySeverity: countBySeverity(skipped),
        reason,
      });
    }
    for (const record of shown) out.push({ kind: 'record', key: key++, record });
    return out;
  });
  return skipped.length === 0 ? next : { ...next, skipped: next.skipped + skipped.length };
}

function count(state: TailState, records: readonly StoredRecord[], now: number): TailState {
  const bySeverity = { ...state.bySeverity };
  const byFacility = new Map(state.byFacility);
  for (const r of records) {
    bySeverity[r.severity]++;
    const facility =
      byFacility.has(r.facility) || byFacility.size < state.limits.facilities ? r.facility : 'other';
    byFacility.set(facility, (byFacility.get(facility) ?? 0) + 1);
  }
  const second = Math.floor(now / 1000);
  const buckets = state.rateBuckets.filter(([s]) => s > second - RATE_WINDOW - 1);
  const last = buckets[buckets.length - 1];
  if (last !== undefined && last[0] === second)
    buckets[buckets.length - 1] = [second, last[1] + records.length];
  else buckets.push([second, records.length]);
  return { ...state, total: state.total + records.length, bySeverity, byFacility, rateBuckets: buckets };
}

function onRecords(state: TailState, records: readonly StoredRecord[], now: number): TailState {
  if (records.length === 0) return state;
  const counted = count(state, records, now);
  const shown = records.filter((r) => visible(counted, r));
  if (shown.length === 0) return counted;
  if (!counted.paused) return draw(counted, shown, 'rate');
  const room = counted.limits.pauseBuffer - counted.pending.length;
  const kept = room >= shown.length ? shown : shown.slice(0, Math.max(0, room));
  const overflow = shown.slice(kept.length);
  return {
    ...counted,
    pending: kept.length === 0 ? counted.pending : [...counted.pending, ...kept],
    pendingOverflow: counted.pendingOverflow + overflow.length,
    pendingOverflowBySeverity:
      overflow.length === 0
        ? counted.pendingOverflowBySeverity
        : countBySeverity(overflow, counted.pendingOverflowBySeverity),
  };
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
  return draw(next, state.pending, 'paused');
}

/** The severities `s` cycles through: everything, then each minimum from debug up to critical. */
const SEVERITY_CYCLE: readonly (Severity | null)[] = [null, 'info', 'notice', 'warning', 'error', 'critical'];

export function reduce(state: TailState, action: Action): TailState {
  switch (action.type) {
    case 'records':
      return onRecords(state, action.records, action.now);
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
