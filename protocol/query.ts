import { ErrorCodes, WarrenError } from './errors.js';
import type { StoredRecord } from './record.js';
import { searchWords, wordsHoldTerms, type SearchTerm } from './search.js';
import { normalizeSeverity, severityRank, type Severity } from './severity.js';

/**
 * Warren's one query language (CONTRACT §6 "Queries"): the API's `q`, every route that filters,
 * `logtail -q` (history and live) and the screen's `/`. Words of the message as the text search
 * matches them (protocol/search.ts), `"phrases"`, `name:value` on a record's columns or any key of
 * its fields, comparisons on numbers, wildcards, `-` to exclude, `OR` and parentheses.
 * This module parses to a typed tree and matches records in code; the store renders the same tree
 * to SQL (collector/store/query-sql.ts), and a property test holds the two to the same answers.
 *
 *   query   = or
 *   or      = and { "OR" and }
 *   and     = unary { ["AND"] unary }
 *   unary   = ("-" | "NOT ") unary | primary
 *   primary = "(" or ")" | NAME ":" [op] value | '"' text '"' | word["*"]
 *   op      = ">=" | "<=" | ">" | "<"
 */

/** Record columns a `name:value` term reads; any other name is a key path in `fields`. */
export const QUERY_COLUMNS = ['host', 'app', 'pid', 'facility', 'severity', 'id'] as const;
export type QueryColumn = (typeof QUERY_COLUMNS)[number];

export type Comparison = '=' | '>' | '>=' | '<' | '<=';

export type QueryNode =
  /** Words of the message, every one required (a bare word, `word*`, or a "phrase"). */
  | { readonly kind: 'words'; readonly terms: readonly SearchTerm[] }
  | {
      readonly kind: 'field';
      /** A column, or a path of `fields` keys (`http.status` → ['http', 'status']). */
      readonly column: QueryColumn | null;
      readonly path: readonly string[];
      readonly op: Comparison;
      readonly value: string;
      /** `*` in the value matches any characters (only with `=`). */
      readonly wildcard: boolean;
    }
  /** A severity and every more severe one (`severity:warning+`). */
  | { readonly kind: 'severityAtLeast'; readonly severity: Severity }
  | { readonly kind: 'not'; readonly node: QueryNode }
  | { readonly kind: 'and'; readonly nodes: readonly QueryNode[] }
  | { readonly kind: 'or'; readonly nodes: readonly QueryNode[] };

export interface Query {
  readonly text: string;
  readonly root: QueryNode;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

interface Token {
  readonly kind: 'word' | 'quoted' | 'lparen' | 'rparen' | 'minus';
  readonly text: string;
  /** 0-based offset in the query text. */
  readonly at: number;
}

function fail(text: string, at: number, message: string, hint: string): WarrenError {
  return new WarrenError(ErrorCodes.BAD_QUERY, `q at position ${at + 1}: ${message}`, {
    hint,
    context: { q: text, position: at + 1 },
  });
}

const SYNTAX_HINT =
  'e.g. error timeout, "disk full", host:web-*, status:>=500, -level:debug, (a OR b); quote a word that holds : or ( )';

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'lparen' : 'rparen', text: ch, at: i });
      i++;
    } else if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw fail(text, i, 'this quote is never closed', 'close the phrase with "');
      tokens.push({ kind: 'quoted', text: text.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (ch === '-' && i + 1 < text.length && !/[\s)]/.test(text[i + 1] ?? '')) {
      tokens.push({ kind: 'minus', text: '-', at: i });
      i++;
    } else {
      // A bare token runs to whitespace or a parenthesis; `name:"quoted value"` keeps its quotes.
      const start = i;
      while (i < text.length && !/[\s()]/.test(text[i] ?? '')) {
        if (text[i] === '"') {
          const end = text.indexOf('"', i + 1);
          if (end < 0) throw fail(text, i, 'this quote is never closed', 'close the value with "');
          i = end + 1;
        } else i++;
      }
      tokens.push({ kind: 'word', text: text.slice(start, i), at: start });
    }
  }
  return tokens;
}

/** Parses a query; a malformed one is WARREN_BAD_QUERY saying where and what was expected. */
export function parseQuery(text: string): Query {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isKeyword = (token: Token | undefined, word: string): boolean =>
    token?.kind === 'word' && token.text === word;

  function parseOr(): QueryNode {
    const nodes = [parseAnd()];
    while (isKeyword(peek(), 'OR')) {
      const or = tokens[pos++];
      if (peek() === undefined || peek()?.kind === 'rparen' || isKeyword(peek(), 'OR')) {
        throw fail(text, or?.at ?? text.length, 'OR needs a term on both sides', SYNTAX_HINT);
      }
      nodes.push(parseAnd());
    }
    return nodes.length === 1 ? (nodes[0] as QueryNode) : { kind: 'or', nodes };
  }

  function parseAnd(): QueryNode {
    const nodes: QueryNode[] = [];
    for (;;) {
      const token = peek();
      if (token === undefined || token.kind === 'rparen' || isKeyword(token, 'OR')) break;
      if (isKeyword(token, 'AND')) {
        pos++;
        if (nodes.length === 0 || peek() === undefined || peek()?.kind === 'rparen') {
          throw fail(text, token.at, 'AND needs a term on both sides', SYNTAX_HINT);
        }
        continue;
      }
      nodes.push(parseUnary());
    }
    if (nodes.length === 0) {
      const token = peek();
      throw fail(text, token?.at ?? text.length, 'expected a word, a name:value or (', SYNTAX_HINT);
    }
    return nodes.length === 1 ? (nodes[0] as QueryNode) : { kind: 'and', nodes };
  }

  function parseUnary(): QueryNode {
    const token = peek();
    if (token !== undefined && (token.kind === 'minus' || isKeyword(token, 'NOT'))) {
      pos++;
      const next = peek();
      if (next === undefined || next.kind === 'rparen' || isKeyword(next, 'OR')) {
        throw fail(text, token.at, `expected a term after ${token.text}`, SYNTAX_HINT);
      }
      return { kind: 'not', node: parseUnary() };
    }
    return parsePrimary();
  }

  function parsePrimary(): QueryNode {
    const token = tokens[pos++];
    if (token === undefined) throw fail(text, text.length, 'expected a term', SYNTAX_HINT);
    if (token.kind === 'lparen') {
      const inner = parseOr();
      const close = tokens[pos++];
      if (close?.kind !== 'rparen') {
        throw fail(text, close?.at ?? text.length, 'expected ) to close the ( here', SYNTAX_HINT);
      }
      return inner;
    }
    if (token.kind === 'rparen') throw fail(text, token.at, 'this ) closes nothing', SYNTAX_HINT);
    if (token.kind === 'quoted') return wordsNode(text, token, token.text, false);
    const colon = token.text.indexOf(':');
    const name = colon > 0 ? token.text.slice(0, colon) : '';
    if (colon > 0 && NAME.test(name)) return fieldNode(text, token, name, token.text.slice(colon + 1));
    return wordsNode(text, token, token.text, token.text.endsWith('*'));
  }

  const root = parseOr();
  const rest = peek();
  if (rest !== undefined) {
    throw fail(
      text,
      rest.at,
      rest.kind === 'rparen' ? 'this ) closes nothing' : 'unexpected term',
      SYNTAX_HINT,
    );
  }
  return { text, root };
}

function wordsNode(text: string, token: Token, source: string, prefix: boolean): QueryNode {
  const words = searchWords(source);
  if (words.length === 0) {
    throw fail(
      text,
      token.at,
      `'${source}' has no words to search for`,
      'words are letters and digits; punctuation alone matches nothing',
    );
  }
  return {
    kind: 'words',
    terms: words.map((word, i) => ({ word, prefix: prefix && i === words.length - 1 })),
  };
}

function fieldNode(text: string, token: Token, name: string, raw: string): QueryNode {
  const op = /^(>=|<=|>|<)/.exec(raw)?.[1] as Comparison | undefined;
  let value = op === undefined ? raw : raw.slice(op.length);
  const quoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"');
  if (quoted) value = value.slice(1, -1);
  if (value === '' && !quoted) {
    throw fail(
      text,
      token.at + name.length + 1,
      `expected a value after '${name}:'`,
      'e.g. host:web-01, status:>=500',
    );
  }
  const column = (QUERY_COLUMNS as readonly string[]).includes(name) ? (name as QueryColumn) : null;
  const path = column === null ? name.replace(/^fields\./, '').split('.') : [];
  if (path.some((key) => key === '')) {
    throw fail(
      text,
      token.at,
      `'${name}' is not a field path`,
      'nested keys are joined by single dots: http.status:500',
    );
  }
  if (op !== undefined && !Number.isFinite(Number(value))) {
    throw fail(
      text,
      token.at + name.length + 1 + op.length,
      `${op} compares numbers, not '${value}'`,
      'e.g. duration_ms:>250',
    );
  }
  if (column === 'severity') {
    const plus = !quoted && value.endsWith('+');
    const severity = normalizeSeverity(plus ? value.slice(0, -1) : value);
    if (severity === undefined || op !== undefined) {
      throw fail(
        text,
        token.at,
        `unknown severity '${value}'`,
        'e.g. severity:error, or severity:warning+ for warning and worse',
      );
    }
    return plus
      ? { kind: 'severityAtLeast', severity }
      : { kind: 'field', column, path, op: '=', value: severity, wildcard: false };
  }
  const wildcard = op === undefined && !quoted && value.includes('*');
  return { kind: 'field', column, path, op: op ?? '=', value, wildcard };
}

/** `*` as any characters, the rest literal. */
export function wildcardRegExp(value: string): RegExp {
  const escaped = value.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

/** The value a field term reads from a record (undefined when absent). */
function valueOf(record: StoredRecord, node: Extract<QueryNode, { kind: 'field' }>): unknown {
  if (node.column !== null) return record[node.column];
  let value: unknown = record.fields;
  for (const key of node.path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * Whether a value satisfies a field term: numbers compare as numbers, text as text, `true`/`false`
 * as booleans; a wildcard matches text and numbers by their text. Objects, arrays and null never match.
 */
export function fieldMatches(value: unknown, node: Extract<QueryNode, { kind: 'field' }>): boolean {
  if (node.op !== '=') {
    if (typeof value !== 'number') return false;
    const wanted = Number(node.value);
    return node.op === '>'
      ? value > wanted
      : node.op === '>='
        ? value >= wanted
        : node.op === '<'
          ? value < wanted
          : value <= wanted;
  }
  if (node.wildcard) {
    return (
      (typeof value === 'string' || typeof value === 'number') &&
      wildcardRegExp(node.value).test(String(value))
    );
  }
  if (typeof value === 'string') return value === node.value;
  if (typeof value === 'number') return node.value.trim() !== '' && Number(node.value) === value;
  if (typeof value === 'boolean') return node.value === String(value);
  return false;
}

/** The record matcher of a query: what the store returns for it, decided in code (the live side). */
export function queryMatcher(query: Query): (record: StoredRecord) => boolean {
  const evaluate = (node: QueryNode, record: StoredRecord, words: () => string[]): boolean => {
    switch (node.kind) {
      case 'words':
        return wordsHoldTerms(words(), node.terms);
      case 'field':
        return fieldMatches(valueOf(record, node), node);
      case 'severityAtLeast':
        return severityRank(record.severity) <= severityRank(node.severity);
      case 'not':
        return !evaluate(node.node, record, words);
      case 'and':
        return node.nodes.every((n) => evaluate(n, record, words));
      case 'or':
        return node.nodes.some((n) => evaluate(n, record, words));
    }
  };
  return (record) => {
    let cached: string[] | undefined;
    return evaluate(query.root, record, () => (cached ??= searchWords(record.msg)));
  };
}
