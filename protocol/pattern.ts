import { ErrorCodes, WarrenError } from './errors.js';
import {
  inKeyCase,
  type KeyCase,
  normalizeSeverity,
  SEVERITIES,
  SEVERITY_SPELLINGS,
  severitiesAtLeast,
  type Severity,
} from './severity.js';

/** A user pattern after validation: its canonical text and the broker bindings it becomes. */
export interface Pattern {
  /** As given, or for a severity pattern normalised (`KERN.err+` → `kern.error+`). */
  readonly source: string;
  /**
   * AMQP topic binding keys (CONTRACT §3): the pattern itself, or for a severity pattern one per
   * spelling of each severity it names (`*.crit` → `*.critical`, `*.crit`, `*.fatal`, `*.CRITICAL`, …).
   */
  readonly bindings: readonly string[];
  /** What a key's normal form (`normalWords`) is matched against: the canonical spelling's bindings. */
  readonly canonical: readonly string[];
}

/** AMQP's binding key is a short string: at most 255 bytes. */
const MAX_KEY_BYTES = 255;

function badPattern(input: string, problem: string, hint: string): WarrenError {
  return new WarrenError(ErrorCodes.BAD_PATTERN, `invalid pattern '${input}': ${problem}`, {
    hint,
    context: { pattern: input },
  });
}

/** What AMQP requires of a word (plus Warren's one rule: no empty words); anything else is literal. */
function checkWord(input: string, word: string, index: number, count: number): void {
  if (word === '*' || word === '#') return;
  if (word === '') {
    const where = index === 0 ? 'at the start' : index === count - 1 ? 'at the end' : 'in the middle';
    throw badPattern(
      input,
      `empty word ${where} (two dots, or a leading/trailing dot)`,
      'words are separated by single dots, e.g. *.critical, kern.*, #, *.error+',
    );
  }
  if (word.includes('*') || word.includes('#')) {
    throw badPattern(
      input,
      `'${word}' mixes a wildcard with other characters`,
      '* and # must be whole words: * matches one word, # zero or more (e.g. *.critical, kern.#)',
    );
  }
}

/** The severity a word spells (any case, aliases too; no surrounding blanks), or undefined. */
function severityOf(word: string): Severity | undefined {
  return word.trim() === word ? normalizeSeverity(word) : undefined;
}

/**
 * Parses one pattern of the language in CONTRACT §3: any AMQP topic pattern (`*`, `#`, literal
 * words) without empty words, and `<severity>+` ranges as the last word. A pattern whose last word
 * is a severity (any spelling) or a range is a severity pattern: it binds every spelling of its
 * severities (SEVERITY_SPELLINGS), so `*.critical` also receives `kern.crit` and `KERN.CRITICAL`.
 * Any other pattern (`#.rabbit`, `app.verbose`, `a.b.c`) binds exactly itself.
 */
export function parsePattern(input: string): Pattern {
  const text = input.trim();
  if (text === '') throw badPattern(input, 'it is empty', "use '#' for everything, or e.g. *.critical");
  const words = text.split('.');
  words.forEach((w, i) => checkWord(input, w, i, words.length));
  const head = words.slice(0, -1);
  const last = words[words.length - 1] ?? '';

  let severities: Severity[];
  let sourceLast: string;
  if (last.endsWith('+')) {
    const severity = severityOf(last.slice(0, -1));
    if (severity === undefined) {
      throw badPattern(
        input,
        `'${last}' is not a severity range`,
        `a last word ending in + is a range: a severity followed by +, one of ${SEVERITIES.map((s) => `${s}+`).join(', ')}`,
      );
    }
    if (head.length === 0) {
      throw badPattern(
        input,
        'a severity range needs a facility pattern before it',
        'e.g. *.error+ or kern.warning+',
      );
    }
    severities = severitiesAtLeast(severity);
    sourceLast = `${severity}+`;
  } else {
    const severity = last === '*' || last === '#' ? undefined : severityOf(last);
    if (severity === undefined)
      return checkLength(input, { source: text, bindings: [text], canonical: [text] });
    severities = [severity];
    sourceLast = severity;
  }

  const prefix = (keyCase: KeyCase): string => head.map((w) => `${inKeyCase(w, keyCase)}.`).join('');
  const bindings = SEVERITY_SPELLINGS.filter((s) => severities.includes(s.severity)).map(
    (s) => `${prefix(s.keyCase)}${s.spelling}`,
  );
  return checkLength(input, {
    source: `${prefix('lower')}${sourceLast}`,
    bindings: [...new Set(bindings)],
    canonical: severities.map((s) => `${prefix('lower')}${s}`),
  });
}

function checkLength(input: string, pattern: Pattern): Pattern {
  const long = pattern.bindings.find((b) => Buffer.byteLength(b) > MAX_KEY_BYTES);
  if (long !== undefined) {
    throw badPattern(
      input,
      `the binding key '${long.slice(0, 40)}…' is longer than ${MAX_KEY_BYTES} bytes`,
      `AMQP binding keys are at most ${MAX_KEY_BYTES} bytes; shorten the pattern`,
    );
  }
  return pattern;
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
 * anything else equal to the word.
 */
export function topicMatches(bindingKey: string, routingKey: string): boolean {
  return compileBinding(bindingKey)(splitTopicWords(routingKey));
}

/**
 * A key's normal form for matching (CONTRACT §3): a two-word key whose second word spells a
 * severity, with the facility word lower-cased and the severity canonical (`KERN.crit` →
 * `kern.critical`); undefined for other keys, and when the key is its own normal form (already
 * matched as itself).
 */
function normalWords(words: readonly string[]): string[] | undefined {
  if (words.length !== 2) return undefined;
  const [facility = '', word = ''] = words;
  const severity = severityOf(word);
  if (severity === undefined) return undefined;
  const lower = facility.toLowerCase();
  return lower === facility && severity === word ? undefined : [lower, severity];
}

/** A binding key split once, as a test over a key's words (split once per key, not per binding). */
function compileBinding(bindingKey: string): (words: readonly string[]) => boolean {
  const pattern = splitTopicWords(bindingKey);
  if (!pattern.includes('#')) {
    return (words) => words.length === pattern.length && pattern.every((p, i) => p === '*' || p === words[i]);
  }
  return (words) => wordsMatch(pattern, words);
}

/** Dynamic programming keeps `#.#.#` linear-ish instead of exponential. */
function wordsMatch(pattern: readonly string[], words: readonly string[]): boolean {
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

/**
 * Whether a pattern selects a routing key outside the broker (the store, retention, live filters):
 * the key's own text matches one of its bindings, as on the broker, or the key's normal form
 * (`normalWords`) matches its canonical form, so `kern.critical` also finds `Kern.Crit`.
 */
export function patternMatches(pattern: Pattern, routingKey: string): boolean {
  return compileMatcher([pattern])(routingKey);
}

/** A predicate for "does any of these patterns match this key" (`patternMatches`), cached per key (keys are few). */
export function compileMatcher(patterns: readonly Pattern[]): (routingKey: string) => boolean {
  if (patterns.some((p) => p.bindings.includes('#'))) return () => true;
  // (own text ∈ p.bindings or normal form ∈ p.canonical) for some p, with each side's keys pooled.
  const own = bindingsFor(patterns).map(compileBinding);
  const canonical = [...new Set(patterns.flatMap((p) => p.canonical))].map(compileBinding);
  const cache = new Map<string, boolean>();
  return (routingKey) => {
    let hit = cache.get(routingKey);
    if (hit === undefined) {
      const words = splitTopicWords(routingKey);
      hit = own.some((matches) => matches(words));
      if (!hit) {
        const normal = normalWords(words);
        hit = normal !== undefined && canonical.some((matches) => matches(normal));
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(routingKey, hit);
    }
    return hit;
  };
}
