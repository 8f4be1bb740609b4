import { compileMatcher, type Pattern } from '../../protocol/index.js';
import type { Statements } from './statements.js';

/**
 * The read side's copy of the routing_keys table, and which key ids a set of patterns selects.
 * Routing keys only ever get added, with growing key_ids: new ones are read incrementally.
 */
export interface RoutingKeys {
  /** Reads keys added since the last call. */
  refresh(): void;
  /** The routing key of an id (refreshing once when unknown); '' if the store has none. */
  name(keyId: number): string;
  /** The key_ids the patterns select, or null for all of them (no key condition needed). */
  idsFor(patterns: readonly Pattern[]): number[] | null;
  /** How many routing keys are known. */
  readonly size: number;
  entries(): IterableIterator<[number, string]>;
}

export interface KeyRow {
  key_id: number;
  routing_key: string;
}

/** The keys known so far, whichever store they are read from (this file: SQLite's, synchronously). */
export interface KeyCache extends Omit<RoutingKeys, 'refresh'> {
  /** The highest key_id known: read only keys above it. */
  readonly maxKeyId: number;
  add(rows: readonly KeyRow[]): void;
}

export function createKeyCache(refreshOnce: () => void = () => undefined): KeyCache {
  const keys = new Map<number, string>();
  let maxKeyId = 0;
  let version = 0;
  const matchCache = new WeakMap<readonly Pattern[], { version: number; ids: number[] | null }>();
  return {
    get maxKeyId() {
      return maxKeyId;
    },
    add(rows) {
      if (rows.length === 0) return;
      for (const row of rows) {
        keys.set(Number(row.key_id), row.routing_key);
        maxKeyId = Math.max(maxKeyId, Number(row.key_id));
      }
      version++;
    },
    name(keyId) {
      let key = keys.get(keyId);
      if (key === undefined) {
        refreshOnce();
        key = keys.get(keyId) ?? '';
      }
      return key;
    },
    idsFor(patterns) {
      if (patterns.length === 0) return null;
      const cached = matchCache.get(patterns);
      if (cached !== undefined && cached.version === version) return cached.ids;
      const matches = compileMatcher(patterns);
      const ids: number[] = [];
      for (const [id, key] of keys) if (matches(key)) ids.push(id);
      // Every key, through a '#': skip the condition, which new keys could not match yet anyway.
      const result = ids.length === keys.size && patterns.some((p) => p.bindings.includes('#')) ? null : ids;
      matchCache.set(patterns, { version, ids: result });
      return result;
    },
    get size() {
      return keys.size;
    },
    entries: () => keys.entries(),
  };
}

export function createRoutingKeys(statements: Statements): RoutingKeys {
  const refresh = (): void => {
    cache.add(
      statements
        .prepare('SELECT key_id, routing_key FROM routing_keys WHERE key_id > ? ORDER BY key_id')
        .all(cache.maxKeyId) as KeyRow[],
    );
  };
  const cache = createKeyCache(refresh);
  return {
    refresh,
    name: (keyId) => cache.name(keyId),
    idsFor: (patterns) => cache.idsFor(patterns),
    get size() {
      return cache.size;
    },
    entries: () => cache.entries(),
  };
}
