import { describe, expect, it } from 'vitest';
import {
  bindingsFor,
  compileMatcher,
  ErrorCodes,
  explainPatterns,
  isWarrenError,
  parsePattern,
  parsePatterns,
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

describe('patterns', () => {
  it('keeps plain topic patterns as one binding', () => {
    expect(parsePattern('*.critical').bindings).toEqual(['*.critical']);
    expect(parsePattern('kern.*').bindings).toEqual(['kern.*']);
    expect(parsePattern('#').bindings).toEqual(['#']);
    expect(parsePattern('a.#.b.c').bindings).toEqual(['a.#.b.c']);
  });

  it('expands a severity range to one binding per severity', () => {
    expect(parsePattern('*.error+')).toEqual({
      source: '*.error+',
      bindings: ['*.emergency', '*.alert', '*.critical', '*.error'],
    });
    expect(parsePattern('kern.emergency+').bindings).toEqual(['kern.emergency']);
    expect(parsePattern('#.warn+').bindings).toEqual([
      '#.emergency',
      '#.alert',
      '#.critical',
      '#.error',
      '#.warning',
    ]);
  });

  it('normalises severity aliases so they bind what was meant', () => {
    expect(parsePattern('*.crit').bindings).toEqual(['*.critical']);
    expect(parsePattern('kern.err+').source).toBe('kern.error+');
  });

  it.each([
    ['', 'empty'],
    ['kern..info', 'empty word'],
    ['.info', 'empty word'],
    ['kern.', 'empty word'],
    ['ker*.info', 'wildcard'],
    ['kern.#x', 'wildcard'],
    ['Kern.info', 'upper-case'],
    ['kern.in fo', 'characters'],
    ['kern.loud', "unknown severity 'loud'"],
    ['kern.loud+', 'not a severity range'],
    ['error+', 'needs a facility pattern'],
    [`${'f'.repeat(33)}.info`, 'longer than 32'],
  ])('rejects %j saying what is wrong', (input, problem) => {
    const err = patternError(input);
    expect(err.code).toBe(ErrorCodes.BAD_PATTERN);
    expect(err.message).toContain(problem);
  });

  it('defaults to # and drops duplicates', () => {
    expect(parsePatterns([]).map((p) => p.source)).toEqual(['#']);
    expect(parsePatterns(['*.crit', '*.critical']).map((p) => p.source)).toEqual(['*.critical']);
    expect(bindingsFor(parsePatterns(['*.error+', '*.critical']))).toEqual([
      '*.emergency',
      '*.alert',
      '*.critical',
      '*.error',
    ]);
  });

  it('explains the bindings each pattern becomes', () => {
    expect(explainPatterns(parsePatterns(['*.error+', 'kern.#']))).toBe(
      '*.error+  →  *.emergency, *.alert, *.critical, *.error\nkern.#  →  kern.#',
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

  it('compiles a matcher over several patterns', () => {
    const matches = compileMatcher(parsePatterns(['*.error+', 'kern.#']));
    expect(matches('app.critical')).toBe(true);
    expect(matches('app.warning')).toBe(false);
    expect(matches('kern.debug')).toBe(true);
    expect(compileMatcher(parsePatterns(['#']))('anything.at.all')).toBe(true);
  });
});
