import type { StoredRecord } from '../protocol/index.js';
import { countBySeverity, subtractRecords, type SomeSeverityCounts } from './counts.js';
import type { Line, LineBlock, TailState } from './state.js';

/** Appends lines to the current generation, or starts a new one when it is full. */
export function appendLines(state: TailState, make: (key: number) => Line[]): TailState {
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
 * Draws visible records: all of them up to `linesPerBatch`; beyond that (a flood) only the newest
 * `floodLines`, and one summary line saying how many were skipped and how severe they were.
 */
export function drawRecords(
  state: TailState,
  count: number,
  bySeverity: SomeSeverityCounts,
  newest: readonly StoredRecord[],
  reason: 'rate' | 'paused',
): TailState {
  const flood = count > state.limits.linesPerBatch;
  const shown = flood ? newest.slice(-Math.min(state.limits.floodLines, state.limits.linesPerBatch)) : newest;
  const skipped = count - shown.length;
  const next = appendLines(state, (key) => {
    const out: Line[] = [];
    if (skipped > 0) {
      out.push({
        kind: 'skipped',
        key: key++,
        count: skipped,
        bySeverity: subtractRecords(bySeverity, shown),
        reason,
      });
    }
    for (const record of shown) out.push({ kind: 'record', key: key++, record });
    return out;
  });
  return skipped === 0 ? next : { ...next, skipped: next.skipped + skipped };
}

/** Draws a list of records (the pause buffer on resume) as drawRecords would a frame's. */
export function drawList(
  state: TailState,
  records: readonly StoredRecord[],
  reason: 'rate' | 'paused',
): TailState {
  return drawRecords(state, records.length, countBySeverity(records), records, reason);
}
