import { ErrorCodes, WarrenError } from '../../protocol/index.js';
import { toFtsExpression } from '../../protocol/search.js';
import type { TextFilter } from './query.js';
import { compileQuery } from './query-sql.js';
import type { Statements } from './statements.js';

/** The SQLite store's reads of its FTS5 index (records_fts, rowid = seq). */

/** The FTS5 MATCH expression of a filter's required words; undefined when it requires none. */
export function ftsExpression(text: TextFilter | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (text.syntax === 'query') return compileQuery(text.query).match;
  return text.syntax === 'fts' ? text.expression : toFtsExpression(text.search);
}

/** How many records up to `head` the index names, counting no further than `cap`. */
export function countFtsHits(statements: Statements, match: string, head: number, cap: number): number {
  const count = statements.prepare(
    'SELECT count(*) AS n FROM (SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid <= @head LIMIT @cap)',
  );
  return (count.get({ match, head, cap }) as { n: number }).n;
}

/**
 * The FTS hits with rowid in [lo, hi]. FTS5 walks a doclist from one end and does not seek to a
 * rowid bound, so read from the nearer end and stop at the far bound.
 */
export function ftsHitsBetween(
  statements: Statements,
  match: string,
  lo: number,
  hi: number,
  head: number,
): Set<number> {
  const hits = new Set<number>();
  if (head - hi <= lo) {
    const rowids = statements
      .prepare(
        'SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid <= @hi ORDER BY rowid DESC',
      )
      .pluck();
    for (const rowid of rowids.iterate({ match, hi }) as IterableIterator<number>) {
      if (rowid < lo) break;
      hits.add(rowid);
    }
  } else {
    const rowids = statements
      .prepare(
        'SELECT rowid FROM records_fts WHERE records_fts MATCH @match AND rowid >= @lo ORDER BY rowid ASC',
      )
      .pluck();
    for (const rowid of rowids.iterate({ match, lo }) as IterableIterator<number>) {
      if (rowid > hi) break;
      hits.add(rowid);
    }
  }
  return hits;
}

/** FTS5 reports a malformed expression as a plain SQLite error: make it the user's 400, not our 500. */
export function ftsErrors<T>(run: () => T, text: TextFilter | undefined): T {
  try {
    return run();
  } catch (err) {
    if (
      text !== undefined &&
      err instanceof Error &&
      /fts5|syntax error|no such column|unknown special query|unterminated/i.test(err.message)
    ) {
      const q = text.syntax === 'query' ? text.query.text : (ftsExpression(text) ?? '');
      throw new WarrenError(ErrorCodes.BAD_QUERY, `invalid full-text query '${q}': ${err.message}`, {
        hint: 'plain words match records containing all of them; word* matches a prefix; with syntax=fts use FTS5 syntax (AND, OR, NOT, parentheses)',
        context: { q },
      });
    }
    throw err;
  }
}
