/** Seconds the records/s figure averages over. */
export const RATE_WINDOW = 5;

/** Records per whole second, newest last: [second, count]; at most RATE_WINDOW + 1 entries. */
export type RateBuckets = readonly (readonly [number, number])[];

/** The buckets still inside the window at `now` (older seconds no longer count). */
export function trimRate(buckets: RateBuckets, now: number): (readonly [number, number])[] {
  const second = Math.floor(now / 1000);
  return buckets.filter(([s]) => s > second - RATE_WINDOW - 1);
}

/** The buckets with `count` more records in the second of `now`. */
export function addToRate(buckets: RateBuckets, now: number, count: number): RateBuckets {
  const second = Math.floor(now / 1000);
  const out = trimRate(buckets, now);
  const last = out[out.length - 1];
  if (last !== undefined && last[0] === second) out[out.length - 1] = [second, last[1] + count];
  else out.push([second, count]);
  return out;
}

/** Records per second over the last RATE_WINDOW whole seconds (or since start, when shorter). */
export function recordsPerSecond(
  state: { readonly rateBuckets: RateBuckets; readonly startedAt: number },
  now: number,
): number {
  const second = Math.floor(now / 1000);
  const from = second - RATE_WINDOW;
  let sum = 0;
  for (const [s, n] of state.rateBuckets) if (s >= from && s < second) sum += n;
  const elapsed = Math.min(RATE_WINDOW, Math.max(1, second - Math.floor(state.startedAt / 1000)));
  return sum / elapsed;
}
