import { ErrorCodes, WarrenError } from './errors.js';

/**
 * The one meaning of Warren's text search (`q` in the API, `-q` in logtail, the screen's `/`): words
 * of the message, matched as whole words (or as a prefix with `word*`), every one required, case and
 * Latin accents ignored. A quoted "a phrase" requires each of its words (the index keeps no
 * positions, so word order is not checked) and reads `*` inside it as punctuation.
 *
 * Words are cut exactly as the store's FTS5 `unicode61` tokenizer (default options, see
 * collector/store/schema.ts) cuts them, so a live record matches here exactly when the store
 * returns it for the same text (test/http/search.unit.test.ts checks that on random records).
 */

/** One required word; `prefix`: any word starting with it matches. */
export interface SearchTerm {
  readonly word: string;
  readonly prefix: boolean;
}

/** A parsed search: what the user typed, and the words every match must contain. */
export interface TextSearch {
  readonly text: string;
  readonly terms: readonly SearchTerm[];
}

const ASCII = /^[\p{ASCII}]*$/u;
const ASCII_SEPARATORS = /[^a-z0-9]+/;
// unicode61's token characters: letters, numbers, private use, and (with remove_diacritics) the
// combining diacritics it then drops; every other character separates words.
const WORD = /[\p{L}\p{N}\p{Co}\u0300-\u036f]+/gu;
const COMBINING_DIACRITIC = /[\u0300-\u036f]/u;
const MARK = /\p{M}/u;

/** A character's unicode61 fold: a combining diacritic vanishes, a Latin letter with one loses it. */
function foldChar(ch: string): string {
  if (COMBINING_DIACRITIC.test(ch)) return '';
  const code = ch.codePointAt(0) ?? 0;
  // remove_diacritics=1 knows Latin only (Greek and Cyrillic keep theirs), and only single marks.
  if (code < 0xc0 || (code >= 0x370 && (code < 0x1e00 || code > 0x1eff))) return ch;
  const parts = [...ch.normalize('NFD')];
  return parts.length === 2 && MARK.test(parts[1] ?? '') ? (parts[0] ?? ch) : ch;
}

/** The words of a text as the store indexes them: cut at non-word characters, case-folded, unaccented. */
export function searchWords(text: string): string[] {
  const lower = text.toLowerCase();
  if (ASCII.test(lower)) return lower.split(ASCII_SEPARATORS).filter((w) => w !== '');
  const words: string[] = [];
  for (const [token] of lower.matchAll(WORD)) {
    let word = '';
    for (const ch of token) word += foldChar(ch);
    if (word !== '') words.push(word);
  }
  return words;
}

/** Parses search text once; text with no words at all is the user's mistake (WARREN_BAD_QUERY). */
export function parseSearch(text: string): TextSearch {
  const terms: SearchTerm[] = [];
  for (const [, quoted, bare] of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const words = searchWords(quoted ?? bare ?? '');
    const prefix = bare?.endsWith('*') === true;
    words.forEach((word, i) => terms.push({ word, prefix: prefix && i === words.length - 1 }));
  }
  if (terms.length === 0) {
    throw new WarrenError(ErrorCodes.BAD_QUERY, `full-text query '${text}' has no words to search for`, {
      hint: 'q matches words (letters and digits); punctuation alone matches nothing',
      context: { q: text },
    });
  }
  return { text, terms };
}

/** Whether a message holds every term of the search, as the store would answer. */
export function messageMatcher(search: TextSearch): (msg: string) => boolean {
  return (msg) => wordsHoldTerms(searchWords(msg), search.terms);
}

/** Whether one word of a message is what a term asks for: the word itself, or one it begins (`word*`). */
export function termMatches(term: SearchTerm, word: string): boolean {
  return term.prefix ? word.startsWith(term.word) : word === term.word;
}

/** Whether a message's words (searchWords) hold every term, as the store's full-text index answers. */
export function wordsHoldTerms(words: readonly string[], terms: readonly SearchTerm[]): boolean {
  return terms.every((term) => words.some((word) => termMatches(term, word)));
}

/** The search as an FTS5 expression: each word quoted (so `AND` or `NEAR` are just words), all required. */
export function toFtsExpression(search: TextSearch): string {
  return search.terms.map((t) => `"${t.word}"${t.prefix ? '*' : ''}`).join(' ');
}
