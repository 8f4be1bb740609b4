import { SEVERITIES, type Severity, type StoredRecord } from '../protocol/index.js';

/** Records per severity; the partial form leaves out severities with none. */
export type SeverityCounts = Readonly<Record<Severity, number>>;
export type SomeSeverityCounts = Partial<Record<Severity, number>>;

export function zeroCounts(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
}

/** Counts the records' severities on top of `into`. */
export function countBySeverity(
  records: readonly StoredRecord[],
  into: SomeSeverityCounts = {},
): SomeSeverityCounts {
  const counts = { ...into };
  for (const r of records) counts[r.severity] = (counts[r.severity] ?? 0) + 1;
  return counts;
}

/** `counts` without the records' severities: what is left of a batch once those records are drawn. */
export function subtractRecords(
  counts: SomeSeverityCounts,
  records: readonly StoredRecord[],
): SomeSeverityCounts {
  const out = { ...counts };
  for (const r of records) {
    const n = (out[r.severity] ?? 0) - 1;
    if (n > 0) out[r.severity] = n;
    else delete out[r.severity];
  }
  return out;
}

export function addCounts(a: SomeSeverityCounts, b: SomeSeverityCounts): SomeSeverityCounts {
  const out = { ...a };
  for (const [severity, n] of Object.entries(b) as [Severity, number][])
    out[severity] = (out[severity] ?? 0) + n;
  return out;
}

/** Adds per-facility counts, keeping at most `limit` facilities: the rest are counted as `other`. */
export function addFacilityCounts(
  byFacility: ReadonlyMap<string, number>,
  add: ReadonlyMap<string, number>,
  limit: number,
): Map<string, number> {
  const out = new Map(byFacility);
  for (const [name, n] of add) {
    const facility = out.has(name) || out.size < limit ? name : 'other';
    out.set(facility, (out.get(facility) ?? 0) + n);
  }
  return out;
}

/** The busiest facilities, most records first. */
export function topFacilities(
  state: { readonly byFacility: ReadonlyMap<string, number> },
  n: number,
): [string, number][] {
  return [...state.byFacility.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}
