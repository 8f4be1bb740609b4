import { progress } from './progress.js';
import type { Results } from './report.js';
import { warmMedian } from './stats.js';

/** What every benchmark section reads (the size of the run) and writes (figures and notes). */
export interface BenchContext {
  readonly quick: boolean;
  /** Repeats per figure after the warm-up (median of these). */
  readonly repeats: number;
  readonly results: Results;
  /** Why a figure is missing or what limited it, shown in the table and saved in results.json. */
  readonly notes: Record<string, string>;
  /** Every sample of every repeated figure, for results.json. */
  readonly samples: Record<string, number[]>;
}

export function setFigure(
  context: BenchContext,
  key: string,
  value: number | null,
  samples?: number[],
): void {
  context.results[key] = value;
  if (samples !== undefined) context.samples[key] = samples;
}

export function ratio(context: BenchContext, key: string, numerator: string, denominator: string): void {
  const a = context.results[numerator];
  const b = context.results[denominator];
  context.results[key] =
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
}

/** Warms up (except in --quick), repeats `measure` and records the median as figure `key`. */
export async function measureFigure(
  context: BenchContext,
  key: string,
  label: string,
  measure: () => Promise<number>,
  warmup = !context.quick,
): Promise<void> {
  const { value, samples } = await warmMedian(label, context.repeats, measure, progress, warmup);
  setFigure(context, key, value, samples);
}
