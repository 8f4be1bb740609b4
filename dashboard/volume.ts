import { SEVERITIES, type Severity, type StoredRecord } from '../protocol/index.js';
import type { SomeSeverityCounts } from './counts.js';

/** The screen's volume bars: 30 columns of 10 s, the last five minutes (by the records' own time). */
export const VOLUME_STEP_MS = 10_000;
export const VOLUME_COLUMNS = 30;

/** Records per bucket start (a multiple of VOLUME_STEP_MS) and severity; only recent buckets are kept. */
export type VolumeBuckets = ReadonlyMap<number, SomeSeverityCounts>;

/** Folds records into per-bucket counts; a record older than the window (history) is not a bar. */
export function addToVolume(
  into: Map<number, SomeSeverityCounts>,
  records: readonly StoredRecord[],
  now: number,
): void {
  const oldest = windowStart(now);
  for (const r of records) {
    const ts = Date.parse(r.ts);
    if (!(ts >= oldest)) continue;
    const bucket = ts - (ts % VOLUME_STEP_MS);
    let counts = into.get(bucket);
    if (counts === undefined) into.set(bucket, (counts = {}));
    counts[r.severity] = (counts[r.severity] ?? 0) + 1;
  }
}

/** The buckets merged (new on top of old) and trimmed to the window at `now`. */
export function mergeVolume(
  old: VolumeBuckets,
  add: ReadonlyMap<number, SomeSeverityCounts>,
  now: number,
): VolumeBuckets {
  const oldest = windowStart(now);
  const out = new Map<number, SomeSeverityCounts>();
  for (const [bucket, counts] of old) if (bucket >= oldest) out.set(bucket, counts);
  for (const [bucket, counts] of add) {
    if (bucket < oldest) continue;
    const merged = { ...out.get(bucket) };
    for (const [severity, n] of Object.entries(counts) as [Severity, number][])
      merged[severity] = (merged[severity] ?? 0) + n;
    out.set(bucket, merged);
  }
  return out;
}

/** Start of the oldest column shown at `now`. */
function windowStart(now: number): number {
  return now - (now % VOLUME_STEP_MS) - (VOLUME_COLUMNS - 1) * VOLUME_STEP_MS;
}

/** One row per severity with records in the window: its counts per column, oldest first. */
export function volumeRows(volume: VolumeBuckets, now: number): { severity: Severity; counts: number[] }[] {
  const first = windowStart(now);
  const rows: { severity: Severity; counts: number[] }[] = [];
  for (const severity of SEVERITIES) {
    const counts: number[] = [];
    let any = false;
    for (let i = 0; i < VOLUME_COLUMNS; i++) {
      const n = volume.get(first + i * VOLUME_STEP_MS)?.[severity] ?? 0;
      if (n > 0) any = true;
      counts.push(n);
    }
    if (any) rows.push({ severity, counts });
  }
  return rows;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline: a blank for none, the lowest bar for any, the highest for `max`. */
export function sparkline(counts: readonly number[], max: number): string {
  return counts
    .map((n) => {
      if (n <= 0 || max <= 0) return ' ';
      const level = Math.ceil((n / max) * BARS.length) - 1;
      return BARS[Math.min(BARS.length - 1, Math.max(0, level))] ?? ' ';
    })
    .join('');
}
