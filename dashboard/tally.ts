import type { StoredRecord } from '../protocol/index.js';
import type { SomeSeverityCounts } from './counts.js';
import { visible, type TailState } from './state.js';
import { addToVolume } from './volume.js';

/**
 * Records that arrived between two frames, already counted and filtered. The screen folds each
 * message into one as it arrives and keeps only the newest visible records, so a flood of 20 000
 * records/s is not held in memory for a frame: only what can be drawn is.
 */
export interface Tally {
  total: number;
  bySeverity: SomeSeverityCounts;
  byFacility: Map<string, number>;
  byHost: Map<string, number>;
  volume: Map<number, SomeSeverityCounts>;
  /** The newest records whatever the filters, about `limits.scrollback` of them: the scrollback's. */
  held: StoredRecord[];
  /** Visible (filter and minimum severity pass) records, all of them: what a frame may draw. */
  visibleCount: number;
  visibleBySeverity: SomeSeverityCounts;
  /** The newest visible records: about `keep` of them (trimmed in chunks). */
  visible: StoredRecord[];
}

export function emptyTally(): Tally {
  return {
    total: 0,
    bySeverity: {},
    byFacility: new Map(),
    byHost: new Map(),
    volume: new Map(),
    held: [],
    visibleCount: 0,
    visibleBySeverity: {},
    visible: [],
  };
}

/** How many visible records a tally must keep for the next frame in this state. */
function tallyKeep(state: TailState): number {
  return state.paused ? state.limits.pauseBuffer : state.limits.linesPerBatch;
}

/** Folds records into a tally, using the state's filters at arrival; `now` places the volume window. */
export function addToTally(
  tally: Tally,
  state: TailState,
  records: readonly StoredRecord[],
  now: number = Date.now(),
): Tally {
  const keep = tallyKeep(state);
  addToVolume(tally.volume, records, now);
  const scrollback = state.limits.scrollback;
  for (const r of records) {
    tally.total++;
    tally.bySeverity[r.severity] = (tally.bySeverity[r.severity] ?? 0) + 1;
    tally.byFacility.set(r.facility, (tally.byFacility.get(r.facility) ?? 0) + 1);
    const host = r.host ?? '(none)';
    tally.byHost.set(host, (tally.byHost.get(host) ?? 0) + 1);
    tally.held.push(r);
    if (tally.held.length >= scrollback * 2 + 16) tally.held.splice(0, tally.held.length - scrollback);
    if (!visible(state, r)) continue;
    tally.visibleCount++;
    tally.visibleBySeverity[r.severity] = (tally.visibleBySeverity[r.severity] ?? 0) + 1;
    if (state.paused) {
      // The newest `keep`: trimmed in chunks, not per record.
      tally.visible.push(r);
      if (tally.visible.length >= keep * 2 + 16) tally.visible.splice(0, tally.visible.length - keep);
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
