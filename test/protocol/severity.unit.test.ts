import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  fromSyslogPri,
  normalizeSeverity,
  parseSeverity,
  SEVERITIES,
  SEVERITY_SPELLINGS,
  severitiesAtLeast,
  severityFromPinoLevel,
  severityRank,
  toSyslogPri,
  WarrenError,
} from '../../protocol/index.js';

describe('severities', () => {
  it('are in RFC 5424 order, most severe first', () => {
    expect(SEVERITIES).toEqual([
      'emergency',
      'alert',
      'critical',
      'error',
      'warning',
      'notice',
      'info',
      'debug',
    ]);
    expect(severityRank('emergency')).toBe(0);
    expect(severityRank('debug')).toBe(7);
  });

  it.each([
    ['emerg', 'emergency'],
    ['panic', 'emergency'],
    ['crit', 'critical'],
    ['fatal', 'critical'],
    ['err', 'error'],
    ['warn', 'warning'],
    ['trace', 'debug'],
    ['INFO', 'info'],
    [' Notice ', 'notice'],
  ])('normalises %j to %s', (input, expected) => {
    expect(normalizeSeverity(input)).toBe(expected);
    expect(parseSeverity(input)).toBe(expected);
  });

  it('rejects an unknown severity with a usage error that lists the choices', () => {
    expect(normalizeSeverity('loud')).toBeUndefined();
    const err = catchError(() => parseSeverity('loud'));
    expect(err.code).toBe(ErrorCodes.BAD_SEVERITY);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("'loud'");
    expect(err.hint).toContain('emergency, alert, critical');
  });

  it('is not fooled by names every object inherits', () => {
    expect(normalizeSeverity('constructor')).toBeUndefined();
    expect(normalizeSeverity('toString')).toBeUndefined();
  });

  it('lists every spelling a routing key may carry: names and aliases, lower and UPPER case', () => {
    const lower = [
      ['emergency', 'emergency'],
      ['emerg', 'emergency'],
      ['panic', 'emergency'],
      ['alert', 'alert'],
      ['critical', 'critical'],
      ['crit', 'critical'],
      ['fatal', 'critical'],
      ['error', 'error'],
      ['err', 'error'],
      ['warning', 'warning'],
      ['warn', 'warning'],
      ['notice', 'notice'],
      ['info', 'info'],
      ['debug', 'debug'],
      ['trace', 'debug'],
    ];
    expect(SEVERITY_SPELLINGS.map((s) => [s.spelling, s.severity, s.keyCase])).toEqual([
      ...lower.map(([spelling = '', severity]) => [spelling, severity, 'lower']),
      ...lower.map(([spelling = '', severity]) => [spelling.toUpperCase(), severity, 'upper']),
    ]);
    for (const s of SEVERITY_SPELLINGS) expect(normalizeSeverity(s.spelling)).toBe(s.severity);
  });

  it('expands a range to that severity and every more severe one', () => {
    expect(severitiesAtLeast('error')).toEqual(['emergency', 'alert', 'critical', 'error']);
    expect(severitiesAtLeast('emergency')).toEqual(['emergency']);
    expect(severitiesAtLeast('debug')).toEqual([...SEVERITIES]);
  });

  it.each([
    [10, 'debug'],
    [20, 'debug'],
    [30, 'info'],
    [40, 'warning'],
    [50, 'error'],
    [60, 'critical'],
    ['warn', 'warning'],
    ['fatal', 'critical'],
  ] as const)('maps pino level %j to %s', (level, expected) => {
    expect(severityFromPinoLevel(level)).toBe(expected);
  });

  it('reads syslog PRI as facility × 8 + severity, and back', () => {
    expect(fromSyslogPri(2)).toEqual({ facility: 'kern', severity: 'critical' });
    expect(fromSyslogPri(34)).toEqual({ facility: 'auth', severity: 'critical' });
    expect(fromSyslogPri(191)).toEqual({ facility: 'local7', severity: 'debug' });
    expect(fromSyslogPri(192)).toBeUndefined();
    expect(fromSyslogPri(-1)).toBeUndefined();
    expect(fromSyslogPri(1.5)).toBeUndefined();
    expect(toSyslogPri('auth', 'critical')).toBe(34);
    expect(toSyslogPri('myapp', 'info')).toBeUndefined();
  });
});

function catchError(fn: () => unknown): WarrenError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WarrenError) return err;
    throw err;
  }
  throw new Error('expected a WarrenError');
}
