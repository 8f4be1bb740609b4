import type { Query, QueryNode } from '../../protocol/query.js';
import { severityRank } from '../../protocol/severity.js';
import { toFtsExpression } from '../../protocol/search.js';
import type { Params } from './conditions.js';

/**
 * A query of the one query language (protocol/query.ts) on the SQLite store: its required words
 * (the top-level AND's plain word terms) become one FTS5 expression the page plans drive from, as
 * plain text searches always did; everything else becomes one SQL condition on `records r`, with
 * words under OR or `-` as FTS subqueries. Same answers as queryMatcher, record for record (the
 * property test in test/http/query-language.unit.test.ts).
 */
export interface CompiledQuery {
  /** FTS5 expression of the words every match must hold; undefined when none are required. */
  readonly match: string | undefined;
  /** The rest, or undefined when the words were all. */
  readonly where: { readonly sql: string; readonly params: Params } | undefined;
}

const compiled = new WeakMap<Query, CompiledQuery>();

export function compileQuery(query: Query): CompiledQuery {
  const known = compiled.get(query);
  if (known !== undefined) return known;
  const conjuncts = query.root.kind === 'and' ? query.root.nodes : [query.root];
  const words = conjuncts.filter((n) => n.kind === 'words');
  const rest = conjuncts.filter((n) => n.kind !== 'words');
  const params: Params = {};
  let next = 0;
  const param = (value: string | number): string => {
    const name = `q${next++}`;
    params[name] = value;
    return `@${name}`;
  };
  const sql = rest.map((node) => render(node, param)).join(' AND ');
  const result: CompiledQuery = {
    match:
      words.length === 0
        ? undefined
        : toFtsExpression({
            text: query.text,
            terms: words.flatMap((n) => (n.kind === 'words' ? n.terms : [])),
          }),
    where: rest.length === 0 ? undefined : { sql, params },
  };
  compiled.set(query, result);
  return result;
}

/** `*` any characters, everything else literal, as a GLOB pattern. */
function globOf(value: string): string {
  return value.replace(/[?[]/g, (ch) => `[${ch}]`);
}

/** Renders a node as a condition that is always 0 or 1 (never NULL), so NOT of a missing field holds. */
function render(node: QueryNode, param: (value: string | number) => string): string {
  switch (node.kind) {
    case 'words':
      return `r.seq IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ${param(toFtsExpression({ text: '', terms: node.terms }))})`;
    case 'severityAtLeast':
      return `r.severity <= ${param(severityRank(node.severity))}`;
    case 'not':
      return `NOT (${render(node.node, param)})`;
    case 'and':
    case 'or':
      return `(${node.nodes.map((n) => render(n, param)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'field':
      return `ifnull((${renderField(node, param)}), 0)`;
  }
}

function renderField(
  node: Extract<QueryNode, { kind: 'field' }>,
  param: (value: string | number) => string,
): string {
  const number = Number(node.value);
  const numeric = node.value.trim() !== '' && Number.isFinite(number);
  if (node.column !== null) {
    const column = `r.${node.column}`;
    if (node.column === 'severity') return `${column} = ${param(severityRank(node.value as never))}`;
    const isNumberColumn = node.column === 'pid';
    if (node.op !== '=') return isNumberColumn ? `${column} ${node.op} ${param(number)}` : '0';
    if (node.wildcard) return `CAST(${column} AS TEXT) GLOB ${param(globOf(node.value))}`;
    if (isNumberColumn) return numeric ? `${column} = ${param(number)}` : '0';
    return `${column} = ${param(node.value)}`;
  }
  const path = param(`$${node.path.map((key) => `."${key}"`).join('')}`);
  const type = `json_type(r.fields, ${path})`;
  const value = `json_extract(r.fields, ${path})`;
  if (node.op !== '=') return `(${type} IN ('integer', 'real') AND ${value} ${node.op} ${param(number)})`;
  if (node.wildcard) {
    return `(${type} IN ('text', 'integer', 'real') AND CAST(${value} AS TEXT) GLOB ${param(globOf(node.value))})`;
  }
  const alternatives = [`(${type} = 'text' AND ${value} = ${param(node.value)})`];
  if (numeric) alternatives.push(`(${type} IN ('integer', 'real') AND ${value} = ${param(number)})`);
  if (node.value === 'true' || node.value === 'false') alternatives.push(`${type} = '${node.value}'`);
  return alternatives.join(' OR ');
}
