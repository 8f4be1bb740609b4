import { ErrorCodes, WarrenError } from './errors.js';
import { isFacility } from './routing-key.js';
import { normalizeSeverity, SEVERITIES, severitiesAtLeast } from './severity.js';

/** A user pattern after validation: its canonical text and the broker bindings it becomes. */
export interface Pattern {
  /** As given, with severity aliases normalised (`*.err+` → `*.error+`). */
  readonly source: string;
  /** AMQP topic binding keys: one, or one per severity for a `+` range (CONTRACT §3). */
  readonly bindings: readonly string[];
}

const LITERAL_WORD = /^[a-z0-9_-]+$/;

function badPattern(input: string, problem: string, hint: string): WarrenError {
  return new WarrenError(ErrorCodes.BAD_PATTERN, `invalid pattern '${input}': ${problem}`, {
    hint,
    context: { pattern: input },
  });
}

function checkWord(input: string, word: string, index: number, count: number): string {
  if (word === '*' || word === '#') return word;
  if (word === '') {
    const where = index === 0 ? 'at the start' : index === count - 1 ? 'at the end' : 'in the middle';
    return badFail(input, `empty word ${where} (two dots, or a leading/trailing dot)`);
  }
  if (word.includes('*') || word.includes('#')) {
    return badFail(input, `'${word}' mixes a wildcard with other characters`, true);
  }
  if (word !== word.toLowerCase()) {
    return badFail(input, `'${word}' has upper-case letters; routing keys are lower case`);
  }
  if (!LITERAL_WORD.test(word)) {
    return badFail(input, `'${word}' has characters other than a-z, 0-9, _ and -`);
  }
  return word;
}

function badFail(input: string, problem: string, wildcard = false): never {
  throw badPattern(
    input,
    problem,
    wildcard
      ? '* and # must be whole words: * matches one word, # zero or more (e.g. *.critical, kern.#)'
      : 'a pattern is <facility>.<severity> words separated by dots, e.g. *.critical, kern.*, #, *.error+',
  );
}

/**
 * Parses one pattern of the language in CONTRACT §3: AMQP topic words (`*`, `#`, literals) with an
 * optional `<severity>+` range as the last word. Two-word literal severities are checked, and
 * aliases normalised, so `*.crit` binds what was meant instead of matching nothing.
 */
export function parsePattern(input: string): Pattern {
  const text = input.trim();
  if (text === '') throw badPattern(input, 'it is empty', "use '#' for everything, or e.g. *.critical");
  const words = text.split('.');
  const last = words[words.length - 1] ?? '';

  if (last.endsWith('+')) {
    const severity = normalizeSeverity(last.slice(0, -1));
    if (severity === undefined) {
      throw badPattern(
        input,
        `'${last}' is not a severity range`,
        `a range is a severity followed by +, one of ${SEVERITIES.map((s) => `${s}+`).join(', ')}`,
      );
    }
    if (words.length < 2) {
      throw badPattern(
        input,
        'a severity range needs a facility pattern before it',
        'e.g. *.error+ or kern.warning+',
      );
    }
    const prefix = words.slice(0, -1).map((w, i) => checkWord(input, w, i, words.length));
    checkFacilityWord(input, prefix);
    const head = prefix.join('.');
    return {
      source: `${head}.${severity}+`,
      bindings: severitiesAtLeast(severity).map((s) => `${head}.${s}`),
    };
  }

  const checked = words.map((w, i) => checkWord(input, w, i, words.length));
  if (checked.length === 2) {
    checkFacilityWord(input, checked.slice(0, 1));
    const severityWord = checked[1] ?? '';
    if (severityWord !== '*' && severityWord !== '#') {
      const severity = normalizeSeverity(severityWord);
      if (severity === undefined) {
        throw badPattern(
          input,
          `unknown severity '${severityWord}'`,
          `the second word is one of ${SEVERITIES.join(', ')}, * or #; add + for a range (e.g. *.error+)`,
        );
      }
      checked[1] = severity;
    }
  }
  const source = checked.join('.');
  return { source, bindings: [source] };
}

function checkFacilityWord(input: string, words: readonly string[]): void {
  if (words.length !== 1) return;
  const facility = words[0] ?? '';
  if (facility !== '*' && facility !== '#' && !isFacility(facility)) {
    throw badPattern(
      input,
      `facility '${facility}' is longer than 32 characters`,
      'facilities are 1 to 32 characters',
    );
  }
}

/** Parses several patterns, defaulting to `#`, and drops exact duplicates. */
export function parsePatterns(inputs: readonly string[]): Pattern[] {
  const list = inputs.length === 0 ? ['#'] : inputs;
  const seen = new Set<string>();
  const patterns: Pattern[] = [];
  for (const input of list) {
    const pattern = parsePattern(input);
    if (seen.has(pattern.source)) continue;
    seen.add(pattern.source);
    patterns.push(pattern);
  }
  return patterns;
}

/** The distinct broker bindings for a set of patterns, in first-seen order. */
export function bindingsFor(patterns: readonly Pattern[]): string[] {
  return [...new Set(patterns.flatMap((p) => p.bindings))];
}

/** `logtail --explain`: one line per pattern with the bindings it becomes. */
export function explainPatterns(patterns: readonly Pattern[]): string {
  return patterns.map((p) => `${p.source}  →  ${p.bindings.join(', ')}`).join('\n');
}

/**
 * Splits a topic key exactly as RabbitMQ does: the empty key has zero words, and every dot
 * separates two (possibly empty) words, so `a.` is ['a', ''].
 */
export function splitTopicWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

/**
 * RabbitMQ's topic match: `*` is exactly one word (which may be empty), `#` zero or more words,
 * anything else equal to the word. Dynamic programming keeps `#.#.#` linear-ish instead of exponential.
 */
export function topicMatches(bindingKey: string, routingKey: string): boolean {
  const pattern = splitTopicWords(bindingKey);
  const words = splitTopicWords(routingKey);
  // row[j]: the pattern's first i words match the key's first j words.
  let row: boolean[] = new Array<boolean>(words.length + 1).fill(false);
  row[0] = true;
  for (const p of pattern) {
    const next: boolean[] = new Array<boolean>(words.length + 1).fill(false);
    for (let j = 0; j <= words.length; j++) {
      if (p === '#') {
        next[j] = (row[j] ?? false) || (j > 0 && (next[j - 1] ?? false));
      } else if (j > 0 && (row[j - 1] ?? false)) {
        next[j] = p === '*' || p === words[j - 1];
      }
    }
    row = next;
  }
  return row[words.length] ?? false;
}

/** A predicate for "does any of these patterns match this key", cached per key (keys are few). */
export function compileMatcher(patterns: readonly Pattern[]): (routingKey: string) => boolean {
  const bindings = bindingsFor(patterns);
  if (bindings.includes('#')) return () => true;
  const cache = new Map<string, boolean>();
  return (routingKey) => {
    let hit = cache.get(routingKey);
    if (hit === undefined) {
      hit = bindings.some((b) => topicMatches(b, routingKey));
      if (cache.size > 10_000) cache.clear();
      cache.set(routingKey, hit);
    }
    return hit;
  };
}
