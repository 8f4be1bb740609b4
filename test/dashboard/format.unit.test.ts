import { describe, expect, it } from 'vitest';
import {
  formatFields,
  formatJsonLine,
  formatTextLine,
  formatTime,
  resolveColor,
  sanitize,
  severityStyle,
} from '../../dashboard/format.js';
import { record } from './helpers.js';

const ESC = '\u001b[';

describe('formatting', () => {
  it('shows the date before the time when a record is not from today', () => {
    const now = new Date(2026, 11, 3, 15, 0, 0);
    expect(formatTime(new Date(2026, 11, 3, 13, 5, 9, 7).toISOString(), now)).toBe('13:05:09.007');
    expect(formatTime(new Date(2023, 0, 2, 17, 13, 20).toISOString(), now)).toBe('2023-01-02 17:13:20.000');
    expect(formatTime(new Date(2026, 11, 2, 23, 59, 59, 999).toISOString(), now)).toBe(
      '2026-12-02 23:59:59.999',
    );
  });

  it('colours severities as people expect', () => {
    expect(severityStyle('debug', true)).toEqual({ dim: true });
    expect(severityStyle('info', true)).toEqual({});
    expect(severityStyle('notice', true)).toEqual({ color: 'yellow' });
    expect(severityStyle('warning', true)).toEqual({ color: 'yellow' });
    expect(severityStyle('error', true)).toEqual({ color: 'red' });
    expect(severityStyle('critical', true)).toEqual({ color: 'red', bold: true });
    expect(severityStyle('emergency', true)).toEqual({ color: 'red', bold: true, inverse: true });
    // Without colour only bold marks the worst.
    expect(severityStyle('error', false)).toEqual({});
    expect(severityStyle('alert', false)).toEqual({ bold: true });
  });

  it('prints red for an error line with colour and no escape codes without', () => {
    const r = record({
      severity: 'error',
      facility: 'kern',
      host: 'web-01',
      app: 'api',
      pid: 42,
      msg: 'disk failure',
      fields: { disk: 'sda', note: 'two words' },
    });
    const coloured = formatTextLine(r, true);
    expect(coloured).toContain(`${ESC}31m`);
    const plain = formatTextLine(r, false);
    expect(plain).not.toContain(ESC);
    expect(plain).toMatch(
      // A record from 2026-11-21: its date is shown unless that is today.
      /^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\.123 kern {5}error {5}web-01 api\[42\] disk failure disk=sda note="two words"$/,
    );
  });

  it('marks critical bold and debug dim', () => {
    expect(formatTextLine(record({ severity: 'critical' }), true)).toContain(`${ESC}1m`);
    expect(formatTextLine(record({ severity: 'debug' }), true)).toContain(`${ESC}2m`);
  });

  it('resolves --color with NO_COLOR and the terminal', () => {
    expect(resolveColor('auto', true, {})).toBe(true);
    expect(resolveColor('auto', false, {})).toBe(false);
    expect(resolveColor('auto', true, { NO_COLOR: '1' })).toBe(false);
    expect(resolveColor('auto', true, { NO_COLOR: '' })).toBe(true);
    expect(resolveColor('always', false, { NO_COLOR: '1' })).toBe(true);
    expect(resolveColor('never', true, {})).toBe(false);
  });

  it('keeps a record on one line and neutralises control characters', () => {
    expect(sanitize('a\nb\u001b[2Jc')).toBe('a ⏎ b\\x1b[2Jc');
    expect(formatTextLine(record({ msg: 'line1\nline2' }), false)).not.toContain('\n');
  });

  it('prints fields compactly and truncates long ones', () => {
    expect(formatFields({ n: 1, ok: true, s: 'x', o: { a: 1 }, z: null })).toBe(
      'n=1 ok=true s=x o={"a":1} z=null',
    );
    expect(formatFields({ long: 'y'.repeat(500) }, 20)).toHaveLength(20);
  });

  it('prints NDJSON as the API serves records', () => {
    const r = record({ msg: 'x' });
    expect(JSON.parse(formatJsonLine(r))).toEqual(r);
  });
});
