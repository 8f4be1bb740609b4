import type { StoredRecord } from '../protocol/index.js';

/**
 * The key a record is deduplicated by: its id, or (for a foreign publisher's record without one)
 * what it says and when, which is the same in the live copy and the stored copy.
 */
export function dedupeKey(record: StoredRecord): string {
  return record.id ?? `${record.routing_key}\u0000${record.ts}\u0000${record.msg}`;
}

/** A set that forgets its oldest keys beyond `capacity`, so a long tail never grows without bound. */
export class BoundedSet {
  readonly #keys = new Set<string>();
  constructor(readonly capacity: number) {}

  /** Adds the key; false when it was already there. */
  add(key: string): boolean {
    if (this.capacity === 0) return true;
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.values().next();
      if (oldest.done !== true) this.#keys.delete(oldest.value);
    }
    return true;
  }
}

export interface SeamOptions {
  /** Keys remembered for dedupe (default 200 000: several minutes at 1 000 records/s). */
  remember?: number;
  /** Live records held while a backfill runs; beyond it the oldest are dropped and counted. */
  holdLimit?: number;
}

/**
 * Where history meets the live stream. The live queue is bound first; while the history is
 * fetched, live records are held; every record passes one dedupe, so a record that is both in
 * the history and on the live queue is shown once, and one published during the backfill is not lost.
 */
export class Seam {
  readonly #seen: BoundedSet;
  readonly #holdLimit: number;
  #held: StoredRecord[] = [];
  /** Keys of the held records, to notice when the history reaches the live stream. */
  #heldKeys = new Set<string>();
  #holding = false;
  #caughtUp = false;
  #overflow = 0;

  constructor(options: SeamOptions = {}) {
    this.#seen = new BoundedSet(options.remember ?? 200_000);
    this.#holdLimit = options.holdLimit ?? 200_000;
  }

  /** Start holding live records (call before the live queue can deliver, or at a disconnect). */
  hold(): void {
    this.#holding = true;
    this.#caughtUp = false;
  }

  /** Live records held so far in this backfill. */
  get heldCount(): number {
    return this.#held.length;
  }

  /**
   * True once the history contained a record the live queue also delivered: the archive queue is
   * FIFO, so everything published before the live queue was bound has been stored by then.
   */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Live records: those to show now, deduplicated; none while holding. */
  live(records: readonly StoredRecord[]): StoredRecord[] {
    if (this.#holding) {
      for (const r of records) {
        this.#held.push(r);
        this.#heldKeys.add(dedupeKey(r));
      }
      const excess = this.#held.length - this.#holdLimit;
      if (excess > 0) {
        for (const r of this.#held.splice(0, excess)) this.#heldKeys.delete(dedupeKey(r));
        this.#overflow += excess;
      }
      return [];
    }
    return this.#fresh(records);
  }

  /** History records: those not shown yet. */
  history(records: readonly StoredRecord[]): StoredRecord[] {
    if (this.#holding && !this.#caughtUp) {
      this.#caughtUp = records.some((r) => this.#heldKeys.has(dedupeKey(r)));
    }
    return this.#fresh(records);
  }

  /** Ends the backfill: the held live records not already shown, in arrival order. */
  release(): StoredRecord[] {
    this.#holding = false;
    const held = this.#held;
    this.#held = [];
    this.#heldKeys = new Set();
    return this.#fresh(held);
  }

  /** Live records the hold buffer could not keep (reported as dropped, never silently). */
  takeOverflow(): number {
    const n = this.#overflow;
    this.#overflow = 0;
    return n;
  }

  #fresh(records: readonly StoredRecord[]): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (const r of records) if (this.#seen.add(dedupeKey(r))) out.push(r);
    return out;
  }
}
