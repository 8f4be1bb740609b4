import type { Query, QueryNode } from '../protocol/query.js';
import type { SearchTerm } from '../protocol/search.js';
import { searchWords, termMatches } from '../protocol/search.js';

/** Where a filter matched in a text: [start, end) offsets, in order, not overlapping. */
export type Ranges = readonly (readonly [number, number])[];

/** The words a query asks the message to hold (not those it excludes): what the screen highlights. */
function wantedTerms(node: QueryNode, out: SearchTerm[] = []): SearchTerm[] {
  if (node.kind === 'words') out.push(...node.terms);
  else if (node.kind === 'and' || node.kind === 'or') for (const n of node.nodes) wantedTerms(n, out);
  return out;
}

const TOKEN = /[\p{L}\p{N}\p{Co}\u0300-\u036f]+/gu;

/** The message's words that a query's terms match, folded as the search folds them (protocol/search.ts). */
export function queryHighlighter(query: Query): (text: string) => Ranges {
  const terms = wantedTerms(query.root);
  if (terms.length === 0) return () => [];
  return (text) => {
    const ranges: [number, number][] = [];
    for (const match of text.matchAll(TOKEN)) {
      const word = searchWords(match[0])[0];
      if (word === undefined) continue;
      if (terms.some((t) => termMatches(t, word))) ranges.push([match.index, match.index + match[0].length]);
    }
    return ranges;
  };
}

/** Every match of a regular expression in a text (an empty match is skipped). */
export function regexHighlighter(re: RegExp): (text: string) => Ranges {
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  return (text) => {
    const ranges: [number, number][] = [];
    for (const match of text.matchAll(global))
      if (match[0] !== '') ranges.push([match.index, match.index + match[0].length]);
    return ranges;
  };
}

/** Splits a text at the ranges: [piece, highlighted] in order, for drawing. */
export function splitAt(text: string, ranges: Ranges): [string, boolean][] {
  const pieces: [string, boolean][] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) pieces.push([text.slice(at, start), false]);
    pieces.push([text.slice(Math.max(at, start), end), true]);
    at = Math.max(at, end);
  }
  if (at < text.length) pieces.push([text.slice(at), false]);
  return pieces;
}
