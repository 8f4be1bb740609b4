/** The bounds a whole-number setting (a flag, an option) must fall within. */
export interface WholeNumberBounds {
  min: number;
  /** No upper bound when left out. */
  max?: number;
}

/**
 * Reads a whole-number setting as every command does: a number as given, text trimmed and read as
 * a decimal; undefined when it is not a whole number within the bounds, so each command words its
 * own complaint (their messages are part of the CLI users see).
 */
export function readWholeNumber(value: number | string, bounds: WholeNumberBounds): number | undefined {
  const n = typeof value === 'number' ? value : Number(value.trim());
  const max = bounds.max ?? Infinity;
  return Number.isInteger(n) && n >= bounds.min && n <= max ? n : undefined;
}
