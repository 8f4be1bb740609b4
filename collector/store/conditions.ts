import type { Order, Position, RecordFilter } from './query.js';
import { compileQuery } from './query-sql.js';

/**
 * The SQLite store's WHERE clauses as data: plans build a list of typed conditions and render it
 * once, so a plan adds or swaps a condition (the keyset bound of each chunk) instead of editing SQL
 * text. Every value is a bound parameter; each kind renders to fixed text, so statements cache well.
 */
export type Condition =
  | { readonly kind: 'since'; readonly ts: number }
  | { readonly kind: 'until'; readonly ts: number }
  | { readonly kind: 'host'; readonly host: string }
  /** One of these routing keys (the ids patterns select). */
  | { readonly kind: 'keys'; readonly ids: readonly number[] }
  /** Exactly this routing key: one source of the per-key merge. */
  | { readonly kind: 'key'; readonly id: number }
  /** The page's snapshot: seq ≤ head. */
  | { readonly kind: 'snapshot'; readonly head: number }
  /** seq in (after, through]: a stream window. */
  | { readonly kind: 'seqWindow'; readonly after: number; readonly through: number }
  /** Strictly after a position in (ts, seq) order: the keyset bound. */
  | { readonly kind: 'beyond'; readonly order: Order; readonly position: Position }
  /** A query's conditions besides its required words (query-sql.ts), already rendered. */
  | { readonly kind: 'query'; readonly sql: string; readonly params: Params }
  /** Named by the FTS index within the seq window (the FTS subquery counts use). */
  | {
      readonly kind: 'textInWindow';
      readonly match: string;
      readonly after: number;
      readonly through: number;
    };

export type Params = Record<string, string | number>;

export interface RenderedWhere {
  /** `a AND b AND ...`, or `1` for no condition. */
  readonly sql: string;
  readonly params: Params;
}

/** The conditions of the filter every query shares: time window and host. */
export function filterConditions(filter: RecordFilter): Condition[] {
  const conditions: Condition[] = [];
  if (filter.since !== undefined) conditions.push({ kind: 'since', ts: filter.since });
  if (filter.until !== undefined) conditions.push({ kind: 'until', ts: filter.until });
  if (filter.host !== undefined) conditions.push({ kind: 'host', host: filter.host });
  if (filter.text?.syntax === 'query') {
    const { where } = compileQuery(filter.text.query);
    if (where !== undefined) conditions.push({ kind: 'query', ...where });
  }
  return conditions;
}

/** A list without its keyset bound, and with `position` as the new one (undefined: none). */
export function withBound(
  conditions: readonly Condition[],
  order: Order,
  position: Position | undefined,
): Condition[] {
  const rest = conditions.filter((c) => c.kind !== 'beyond');
  return position === undefined ? rest : [...rest, { kind: 'beyond', order, position }];
}

/** Renders conditions on `records r` to SQL text and their parameters. */
export function renderWhere(conditions: readonly Condition[]): RenderedWhere {
  const parts: string[] = [];
  const params: Params = {};
  for (const c of conditions) {
    switch (c.kind) {
      case 'since':
        parts.push('r.ts >= @since');
        params.since = c.ts;
        break;
      case 'until':
        parts.push('r.ts < @until');
        params.until = c.ts;
        break;
      case 'host':
        parts.push('r.host = @host');
        params.host = c.host;
        break;
      case 'keys':
        parts.push('r.key_id IN (SELECT value FROM json_each(@keys))');
        params.keys = JSON.stringify(c.ids);
        break;
      case 'key':
        parts.push('r.key_id = @key');
        params.key = c.id;
        break;
      case 'snapshot':
        parts.push('r.seq <= @head');
        params.head = c.head;
        break;
      case 'seqWindow':
        parts.push('r.seq > @after', 'r.seq <= @through');
        params.after = c.after;
        params.through = c.through;
        break;
      case 'beyond':
        parts.push(`(r.ts, r.seq) ${c.order === 'desc' ? '<' : '>'} (@ats, @aseq)`);
        params.ats = c.position.ts;
        params.aseq = c.position.seq;
        break;
      case 'query':
        parts.push(`(${c.sql})`);
        Object.assign(params, c.params);
        break;
      case 'textInWindow':
        parts.push(
          'r.seq IN (SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid > @ftsAfter AND rowid <= @ftsThrough)',
        );
        params.match = c.match;
        params.ftsAfter = c.after;
        params.ftsThrough = c.through;
        break;
    }
  }
  return { sql: parts.length === 0 ? '1' : parts.join(' AND '), params };
}

/** `ORDER BY` for (ts, seq) in `order`. */
export function orderBy(order: Order): string {
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  return `ORDER BY r.ts ${dir}, r.seq ${dir}`;
}
