import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  facilityFromName,
  formatRoutingKey,
  isWarrenError,
  parseFacility,
  parseRoutingKey,
  readRoutingKey,
} from '../../protocol/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isWarrenError(err) ? err.code : 'not a WarrenError';
  }
  return undefined;
}

describe('routing keys', () => {
  it('formats facility.severity, normalising aliases and case', () => {
    expect(formatRoutingKey('kern', 'crit')).toBe('kern.critical');
    expect(formatRoutingKey('App', 'warn')).toBe('app.warning');
    expect(formatRoutingKey('local0', 'debug')).toBe('local0.debug');
  });

  it('parses a published key strictly', () => {
    expect(parseRoutingKey('auth.warning')).toEqual({ facility: 'auth', severity: 'warning' });
    expect(codeOf(() => parseRoutingKey('kern'))).toBe(ErrorCodes.BAD_ROUTING_KEY);
    expect(codeOf(() => parseRoutingKey('a.b.c'))).toBe(ErrorCodes.BAD_ROUTING_KEY);
    expect(codeOf(() => parseRoutingKey('kern.crit'))).toBe(ErrorCodes.BAD_ROUTING_KEY);
    expect(codeOf(() => parseRoutingKey('Kern.info'))).toBe(ErrorCodes.BAD_ROUTING_KEY);
    expect(codeOf(() => parseRoutingKey('.info'))).toBe(ErrorCodes.BAD_ROUTING_KEY);
  });

  it('validates facilities: 1 to 32 of a-z 0-9 _ -', () => {
    expect(parseFacility('my_app-2')).toBe('my_app-2');
    expect(parseFacility('x'.repeat(32))).toBe('x'.repeat(32));
    expect(codeOf(() => parseFacility('x'.repeat(33)))).toBe(ErrorCodes.BAD_FACILITY);
    expect(codeOf(() => parseFacility(''))).toBe(ErrorCodes.BAD_FACILITY);
    expect(codeOf(() => parseFacility('my.app'))).toBe(ErrorCodes.BAD_FACILITY);
    expect(codeOf(() => parseFacility('my app'))).toBe(ErrorCodes.BAD_FACILITY);
  });

  it('derives a facility from any application name', () => {
    expect(facilityFromName('@acme/Billing-API')).toBe('acme-billing-api');
    expect(facilityFromName('...')).toBe('app');
    expect(facilityFromName('a'.repeat(40))).toHaveLength(32);
  });

  it('reads what it can of a foreign key', () => {
    expect(readRoutingKey('KERN.crit')).toEqual({ facility: 'kern', severity: 'critical' });
    expect(readRoutingKey('kern.loud')).toEqual({ facility: 'kern' });
    expect(readRoutingKey('a.b.c')).toEqual({});
    expect(readRoutingKey('')).toEqual({});
  });
});
