import { searchWords } from '../../../protocol/search.js';

/** PostgreSQL's longest lexeme, bytes. */
const MAX_WORD_BYTES = 2047;
/** A tsvector holds at most 1 MiB; leave room for its per-lexeme overhead. */
const MAX_WORDS_BYTES = 768 * 1024;

/**
 * A message's words as the PostgreSQL store indexes them: exactly protocol/search.ts's words, each
 * once, space-separated for array_to_tsvector. PostgreSQL refuses a lexeme over 2047 bytes and a
 * tsvector over 1 MiB, which would make the whole batch fail for ever: a longer word is indexed by
 * its first 2047 bytes (a prefix search still finds it) and words past 768 KiB are not indexed.
 */
export function indexWords(msg: string): string {
  const out: string[] = [];
  let total = 0;
  for (const word of new Set(searchWords(msg))) {
    let kept = word;
    if (kept.length * 3 > MAX_WORD_BYTES && Buffer.byteLength(kept) > MAX_WORD_BYTES) kept = cut(kept);
    total += Buffer.byteLength(kept) + 1;
    if (total > MAX_WORDS_BYTES) break;
    out.push(kept);
  }
  return out.join(' ');
}

/** The longest start of a word within MAX_WORD_BYTES, whole characters only. */
function cut(word: string): string {
  let bytes = 0;
  let end = 0;
  for (const ch of word) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > MAX_WORD_BYTES) break;
    bytes += size;
    end += ch.length;
  }
  return word.slice(0, end);
}
