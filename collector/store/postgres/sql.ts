import type { Query, QueryNode } from '../../../protocol/query.js';
import { severityRank } from '../../../protocol/severity.js';
import type { SearchTerm } from '../../../protocol/search.js';
import { ErrorCodes, WarrenError } from '../../../protocol/index.js';
import type { Order, Position, RecordFilter } from '../query.js';

/**
 * The PostgreSQL store's SQL for a filter and for the one query language (protocol/query.ts): the
 * same answers as queryMatcher and as the SQLite store, record for record (the property test in
 * test/store/pg-query.test.ts). Every value is a bound parameter ($n).
 */

/** Parameters collected while rendering; `add` returns the placeholder. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Required words as a tsquery over the words column (array_to_tsvector of searchWords: no parsing). */
export function tsquery(terms: readonly SearchTerm[]): string {
  return terms.map((t) => `'${t.word.replace(/'/g, "''")}'${t.prefix ? ':*' : ''}`).join(' & ');
}

/** A LIKE pattern: `*` any characters, everything else literal. */
function likeOf(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%');
}

/** A node as a condition that is true or false (never NULL), so NOT of a missing field holds. */
export function renderNode(node: QueryNode, p: Params): string {
  switch (node.kind) {
    case 'words':
      return `r.words @@ ${p.add(tsquery(node.terms))}::tsquery`;
    case 'severityAtLeast':
      return `r.severity <= ${p.add(severityRank(node.severity))}`;
    case 'not':
      return `NOT (${renderNode(node.node, p)})`;
    case 'and':
    case 'or':
      return `(${node.nodes.map((n) => renderNode(n, p)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'field':
      return `coalesce((${renderField(node, p)}), false)`;
  }
}

function renderField(node: Extract<QueryNode, { kind: 'field' }>, p: Params): string {
  const number = Number(node.value);
  const numeric = node.value.trim() !== '' && Number.isFinite(number);
  if (node.column !== null) {
    const column = `r.${node.column}`;
    if (node.column === 'severity') return `${column} = ${p.add(severityRank(node.value as never))}`;
    const isNumberColumn = node.column === 'pid';
    if (node.op !== '=') return isNumberColumn ? `${column} ${node.op} ${p.add(number)}` : 'false';
    if (node.wildcard) return `${column}::text LIKE ${p.add(likeOf(node.value))}`;
    if (isNumberColumn) return numeric ? `${column} = ${p.add(number)}` : 'false';
    return `${column} = ${p.add(node.value)}`;
  }
  const path = p.add(node.path);
  const value = `(r.fields #> ${path}::text[])`;
  const type = `jsonb_typeof${value}`;
  if (node.op !== '=') {
    return `(${type} = 'number' AND (r.fields #>> ${path}::text[])::numeric ${node.op} ${p.add(number)}::numeric)`;
  }
  const text = `(r.fields #>> ${path}::text[])`;
  if (node.wildcard) return `(${type} IN ('string', 'number') AND ${text} LIKE ${p.add(likeOf(node.value))})`;
  const alternatives = [`(${type} = 'string' AND ${text} = ${p.add(node.value)})`];
  if (numeric) alternatives.push(`(${type} = 'number' AND ${text}::numeric = ${p.add(number)}::numeric)`);
  if (node.value === 'true' || node.value === 'false')
    alternatives.push(`(${type} = 'boolean' AND ${text} = ${p.add(node.value)})`);
  return alternatives.join(' OR ');
}

/** The filter's conditions on `records r`: time, host, keys, text. */
export function filterWhere(filter: RecordFilter, keyIds: readonly number[] | null, p: Params): string[] {
  const parts: string[] = [];
  if (filter.since !== undefined) parts.push(`r.ts >= ${p.add(filter.since)}`);
  if (filter.until !== undefined) parts.push(`r.ts < ${p.add(filter.until)}`);
  if (filter.host !== undefined) parts.push(`r.host = ${p.add(filter.host)}`);
  if (keyIds !== null) parts.push(`r.key_id = ANY(${p.add(keyIds)}::int[])`);
  const text = filter.text;
  if (text !== undefined) {
    if (text.syntax === 'fts') {
      throw new WarrenError(
        ErrorCodes.BAD_QUERY,
        `syntax=fts is SQLite's FTS5 syntax; this collector stores in PostgreSQL`,
        {
          hint: 'leave out syntax=fts: the query language (words, "phrases", word*, field:value, OR, -) works on every store',
          context: { q: text.expression },
        },
      );
    }
    if (text.syntax === 'words') parts.push(`r.words @@ ${p.add(tsquery(text.search.terms))}::tsquery`);
    else parts.push(renderQuery(text.query, p));
  }
  return parts;
}

function renderQuery(query: Query, p: Params): string {
  return renderNode(query.root, p);
}

/** Strictly after a position in (ts, seq) order. */
export function beyond(order: Order, position: Position, p: Params): string {
  return `(r.ts, r.seq) ${order === 'desc' ? '<' : '>'} (${p.add(position.ts)}::bigint, ${p.add(position.seq)}::bigint)`;
}

export function orderBy(order: Order): string {
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  return `ORDER BY r.ts ${dir}, r.seq ${dir}`;
}

export function where(parts: readonly string[]): string {
  return parts.length === 0 ? 'true' : parts.join(' AND ');
}

export const PG_COLUMNS =
  'r.seq, r.id, r.ts, r.key_id, r.facility, r.severity, r.host, r.app, r.pid, r.msg, r.fields::text AS fields';
