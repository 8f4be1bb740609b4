import type { Db } from './database.js';

/** Which of a queue's binding keys to add and remove, going from what was bound to what is wanted. */
export interface BindingChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** False on a store that never recorded this queue's bindings (a first start, or an upgrade). */
  readonly known: boolean;
}

/** From the keys remembered (`previous`) to the keys wanted. */
export function bindingChange(previous: readonly string[], wanted: readonly string[]): BindingChange {
  const before = new Set(previous);
  const after = new Set(wanted);
  return {
    added: wanted.filter((key) => !before.has(key)),
    removed: previous.filter((key) => !after.has(key)),
    known: previous.length > 0,
  };
}

/**
 * The binding keys the collector last bound `queue` with on `exchange` in a SQLite store, and how
 * to remember the new set once it is bound.
 */
export function bindingsOf(db: Db, queue: string, exchange: string) {
  return {
    previous(): string[] {
      return db
        .prepare('SELECT binding_key FROM bindings WHERE queue = ? AND exchange = ?')
        .pluck()
        .all(queue, exchange) as string[];
    },
    remember(bound: readonly string[]): void {
      db.transaction(() => {
        db.prepare('DELETE FROM bindings WHERE queue = ? AND exchange = ?').run(queue, exchange);
        const insert = db.prepare('INSERT INTO bindings (queue, exchange, binding_key) VALUES (?, ?, ?)');
        for (const key of new Set(bound)) insert.run(queue, exchange, key);
      })();
    },
  };
}
