/** Small statistics for benchmark samples: medians of repeated runs, percentiles of latencies. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Samples as `61300/62155/62724`. */
export function joined(values: readonly number[], digits: number): string {
  return values.map((value) => value.toFixed(digits)).join('/');
}

/** A figure's note over repeated rounds: `median of 3 rounds: 61300/62155/62724` (or `largest`). */
export function roundsNote(kind: 'median' | 'largest', values: readonly number[], digits: number): string {
  return `${kind} of ${values.length} round${values.length === 1 ? '' : 's'}: ${joined(values, digits)}`;
}

export function round(value: number, digits = 0): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Runs `measure` once to warm up (JIT, page cache, broker queues), then `repeats` times; returns the median. */
export async function warmMedian(
  label: string,
  repeats: number,
  measure: (run: number) => Promise<number>,
  progress: (line: string) => void,
  warmup = true,
): Promise<{ value: number; samples: number[] }> {
  if (warmup) {
    const value = await measure(-1);
    progress(`${label}: warm-up ${fmt(value)}`);
  }
  const samples: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const value = await measure(run);
    samples.push(value);
    progress(`${label}: run ${run + 1}/${repeats} ${fmt(value)}`);
  }
  return { value: median(samples), samples };
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}
