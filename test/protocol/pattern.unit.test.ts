import { describe, expect, it } from 'vitest';
import {
  bindingsFor,
  compileMatcher,
  ErrorCodes,
  explainPatterns,
  isWarrenError,
  parsePattern,
  parsePatterns,
  patternMatches,
  splitTopicWords,
  topicMatches,
} from '../../protocol/index.js';

function patternError(input: string): { code: string; message: string } {
  try {
    parsePattern(input);
  } catch (err) {
    if (isWarrenError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`expected '${input}' to be rejected`);
}

const ERROR_PLUS_BINDINGS = [
  '*.emergency',
  '*.emerg',
  '*.panic',
  '*.alert',
  '*.critical',
  '*.crit',
  '*.fatal',
  '*.error',
  '*.err',
  '*.EMERGENCY',
  '*.EMERG',
  '*.PANIC',
  '*.ALERT',
  '*.CRITICAL',
  '*.CRIT',
  '*.FATAL',
  '*.ERROR',
  '*.ERR',
];

describe('patterns', () => {
  it('keeps patterns without a severity word as one binding, exactly as given', () => {
    expect(parsePattern('kern.*').bindings).toEqual(['kern.*']);
    expect(parsePattern('#').bindings).toEqual(['#']);
    expect(parsePattern('a.#.b.c').bindings).toEqual(['a.#.b.c']);
  });

  it.each([
    ['#.rabbit', 'valid AMQP whose last word is no severity'],
    ['app.verbose', 'a stored key whose second word is no severity'],
    ['a.b.c', 'three words'],
    ['web.access.log', 'three literal words'],
    ['KERN.*', 'upper case'],
    ['My App.in fo', 'spaces are valid in AMQP words'],
    ['c++.info+x', 'a + inside a word is literal'],
    [`${'f'.repeat(40)}.x`, 'a facility word over 32 characters'],
  ])('accepts %j (%s) as the plain AMQP pattern it is', (input) => {
    expect(parsePattern(input)).toEqual({ source: input, bindings: [input], canonical: [input] });
  });

  it('binds every spelling of a literal severity word, lower and UPPER case', () => {
    expect(parsePattern('*.critical')).toEqual({
      source: '*.critical',
      bindings: ['*.critical', '*.crit', '*.fatal', '*.CRITICAL', '*.CRIT', '*.FATAL'],
      canonical: ['*.critical'],
    });
    // Literal words before the severity follow its case: all-lower and all-UPPER keys.
    expect(parsePattern('kern.warn').bindings).toEqual([
      'kern.warning',
      'kern.warn',
      'KERN.WARNING',
      'KERN.WARN',
    ]);
    expect(parsePattern('app.info').bindings).toEqual(['app.info', 'APP.INFO']);
    expect(parsePattern('#.debug').bindings).toEqual(['#.debug', '#.trace', '#.DEBUG', '#.TRACE']);
  });

  it('expands a severity range to every spelling of each severity in it', () => {
    expect(parsePattern('*.error+')).toEqual({
      source: '*.error+',
      bindings: ERROR_PLUS_BINDINGS,
      canonical: ['*.emergency', '*.alert', '*.critical', '*.error'],
    });
    expect(parsePattern('kern.emergency+').bindings).toEqual([
      'kern.emergency',
      'kern.emerg',
      'kern.panic',
      'KERN.EMERGENCY',
      'KERN.EMERG',
      'KERN.PANIC',
    ]);
    expect(parsePattern('#.warn+').canonical).toEqual([
      '#.emergency',
      '#.alert',
      '#.critical',
      '#.error',
      '#.warning',
    ]);
  });

  it('normalises a severity pattern: aliases, and the case of every word', () => {
    expect(parsePattern('*.crit').source).toBe('*.critical');
    expect(parsePattern('kern.err+').source).toBe('kern.error+');
    expect(parsePattern('KERN.CRITICAL')).toEqual(parsePattern('kern.critical'));
    expect(parsePattern('Kern.Fatal').source).toBe('kern.critical');
    expect(parsePattern('*.ERR+').source).toBe('*.error+');
  });

  it.each([
    ['', 'empty'],
    ['  ', 'empty'],
    ['kern..info', 'empty word in the middle'],
    ['.info', 'empty word at the start'],
    ['kern.', 'empty word at the end'],
    ['ker*.info', 'mixes a wildcard'],
    ['kern.#x', 'mixes a wildcard'],
    ['kern.loud+', "'loud+' is not a severity range"],
    ['c++', "'c++' is not a severity range"],
    ['error+', 'needs a facility pattern'],
    [`${'f'.repeat(251)}.info`, 'longer than 255 bytes'],
  ])('rejects %j saying what is wrong', (input, problem) => {
    const err = patternError(input);
    expect(err.code).toBe(ErrorCodes.BAD_PATTERN);
    expect(err.message).toContain(problem);
  });

  it('defaults to # and drops duplicates', () => {
    expect(parsePatterns([]).map((p) => p.source)).toEqual(['#']);
    expect(parsePatterns(['*.crit', '*.critical', '*.CRIT']).map((p) => p.source)).toEqual(['*.critical']);
    expect(bindingsFor(parsePatterns(['*.error+', '*.critical']))).toEqual(ERROR_PLUS_BINDINGS);
  });

  it('explains the bindings each pattern becomes', () => {
    expect(explainPatterns(parsePatterns(['*.error+', 'kern.#']))).toBe(
      `*.error+  →  ${ERROR_PLUS_BINDINGS.join(', ')}\nkern.#  →  kern.#`,
    );
  });
});

describe('topic matching (RabbitMQ semantics)', () => {
  it('splits keys as RabbitMQ does', () => {
    expect(splitTopicWords('')).toEqual([]);
    expect(splitTopicWords('a.')).toEqual(['a', '']);
    expect(splitTopicWords('.')).toEqual(['', '']);
  });

  it.each([
    ['*.critical', 'kern.critical', true],
    ['*.critical', 'kern.info', false],
    ['*.critical', 'a.b.critical', false],
    ['kern.*', 'kern.info', true],
    ['kern.*', 'kern', false],
    ['#', '', true],
    ['#', 'a.b.c', true],
    ['kern.#', 'kern', true],
    ['kern.#', 'kern.a.b', true],
    ['#.critical', 'critical', true],
    ['a.#.b', 'a.b', true],
    ['a.#.b', 'a.x.y.b', true],
    ['a.#.b', 'a.x.y.c', false],
    ['#.#', '', true],
    ['#.#', 'a', true],
    ['*', '', false],
    ['*', 'a', true],
    ['*.*', 'a.', true],
    ['*', '.', false],
    ['a..b', 'a..b', true],
    ['a.*.b', 'a..b', true],
    ['', '', true],
    ['', 'a', false],
    ['#.*', '', false],
    ['#.*', 'a.b', true],
    ['*.#.*', 'a', false],
    ['*.#.*', 'a.b', true],
  ])('%j against %j → %s', (binding, key, expected) => {
    expect(topicMatches(binding, key)).toBe(expected);
  });

  it.each([
    // [pattern, key, selected]: its own text, or its normal form (facility lower, severity canonical)
    ['kern.critical', 'kern.crit', true],
    ['kern.critical', 'KERN.CRITICAL', true],
    ['kern.critical', 'Kern.Crit', true],
    ['kern.critical', 'kern.CRIT', true],
    ['kern.critical', 'kern.error', false],
    ['kern.critical', 'auth.crit', false],
    ['*.error+', 'local3.err', true],
    ['*.error+', 'USER.EMERG', true],
    ['*.error+', 'daemon.warn', false],
    ['kern.*', 'KERN.crit', true],
    ['kern.*', 'KERN.verbose', false],
    ['app.verbose', 'app.verbose', true],
    ['app.verbose', 'APP.verbose', false],
    ['#.rabbit', 'a.b.rabbit', true],
    ['#.error', 'x.y.err', true],
    ['*.critical', 'a.b.crit', false],
    ['*.info', 'kern.constructor', false],
  ])('pattern %j selects key %j: %s', (pattern, key, expected) => {
    expect(patternMatches(parsePattern(pattern), key)).toBe(expected);
    expect(compileMatcher([parsePattern(pattern)])(key)).toBe(expected);
  });

  it('selects every stored key the broker would route to the same bindings', () => {
    const keys = ['kern.crit', 'KERN.CRIT', 'a.b.c', 'app.verbose', 'x.y.err', 'user.EMERG', 'Kern.Crit', ''];
    for (const input of ['*.error+', 'kern.critical', '#.err', 'a.*.c', 'kern.*', '*']) {
      const pattern = parsePattern(input);
      for (const key of keys) {
        if (pattern.bindings.some((b) => topicMatches(b, key)))
          expect(patternMatches(pattern, key)).toBe(true);
      }
    }
  });

  it('compiles a matcher over several patterns', () => {
    const matches = compileMatcher(parsePatterns(['*.error+', 'kern.#']));
    expect(matches('app.critical')).toBe(true);
    expect(matches('app.warning')).toBe(false);
    expect(matches('kern.debug')).toBe(true);
    expect(compileMatcher(parsePatterns(['#']))('anything.at.all')).toBe(true);
  });
});
