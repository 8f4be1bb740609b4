import { describe, expect, it } from 'vitest';
import { ErrorCodes, WarrenError, httpStatusOf } from '../../protocol/index.js';

describe('error catalogue', () => {
  it('gives each code the HTTP status the API answered with before the catalogue held it', () => {
    const statuses = Object.fromEntries(Object.values(ErrorCodes).map((code) => [code, httpStatusOf(code)]));
    expect(statuses).toEqual({
      WARREN_BAD_USAGE: 400,
      WARREN_BAD_PATTERN: 400,
      WARREN_BAD_ROUTING_KEY: 400,
      WARREN_BAD_FACILITY: 400,
      WARREN_BAD_SEVERITY: 400,
      WARREN_BAD_DURATION: 400,
      WARREN_BAD_RECORD: 500,
      WARREN_BROKER_UNREACHABLE: 500,
      WARREN_BROKER_AUTH: 500,
      WARREN_BROKER_TLS: 500,
      WARREN_TOPOLOGY_CLASH: 500,
      WARREN_API_UNREACHABLE: 500,
      WARREN_API_ERROR: 500,
      WARREN_STORE_UNAVAILABLE: 503,
      WARREN_STORE_LOCKED: 500,
      WARREN_SPOOL_FULL: 500,
      WARREN_SHUTDOWN_INCOMPLETE: 500,
      WARREN_BAD_REQUEST: 400,
      WARREN_BAD_QUERY: 400,
      WARREN_BAD_CURSOR: 400,
      WARREN_UNAUTHORIZED: 401,
      WARREN_BAD_HOST: 403,
      WARREN_NOT_FOUND: 404,
      WARREN_QUERY_BUSY: 503,
      WARREN_QUERY_TIMEOUT: 504,
      WARREN_TOO_MANY_STREAMS: 503,
      WARREN_INTERNAL: 500,
    });
  });

  it('exits 2 for the codes that mean bad usage and 1 for the rest (CONTRACT §5)', () => {
    const usage = Object.values(ErrorCodes).filter((code) => new WarrenError(code, 'x').exitCode === 2);
    expect(usage.sort()).toEqual(
      [
        'WARREN_BAD_USAGE',
        'WARREN_BAD_PATTERN',
        'WARREN_BAD_ROUTING_KEY',
        'WARREN_BAD_FACILITY',
        'WARREN_BAD_SEVERITY',
        'WARREN_BAD_DURATION',
        'WARREN_BAD_REQUEST',
        'WARREN_BAD_QUERY',
        'WARREN_BAD_CURSOR',
      ].sort(),
    );
    expect(new WarrenError(ErrorCodes.NOT_FOUND, 'x').httpStatus).toBe(404);
  });
});
