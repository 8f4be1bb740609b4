import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  isWarrenError,
  parseQuery,
  queryMatcher,
  type StoredRecord,
} from '../../protocol/index.js';

const record = (over: Partial<StoredRecord>): StoredRecord => ({
  id: 'web-01:abc:1',
  ts: '2026-12-01T10:00:00.000Z',
  facility: 'app',
  severity: 'info',
  msg: 'GET /api/orders 200 in 12ms',
  routing_key: 'app.info',
  ...over,
});

function badQuery(q: string): { message: string; position: unknown; hint: string | undefined } {
  try {
    parseQuery(q);
  } catch (err) {
    if (isWarrenError(err, ErrorCodes.BAD_QUERY)) {
      return { message: err.message, position: err.context.position, hint: err.hint };
    }
    throw err;
  }
  throw new Error(`'${q}' parsed`);
}

describe('the query language', () => {
  const web = record({
    host: 'web-01',
    app: 'api',
    pid: 4121,
    msg: 'request timeout after retry on backend',
    severity: 'error',
    fields: { status: 503, user: 'bob', http: { status: 502, method: 'GET' }, cached: false, code: '007' },
  });
  const db = record({
    host: 'db-01',
    app: 'postgres',
    pid: 77,
    msg: 'checkpoint complete',
    fields: { status: '200' },
  });
  const matches = (q: string): string[] =>
    [web, db].filter(queryMatcher(parseQuery(q))).map((r) => r.host ?? '');

  it('matches words, prefixes, phrases and exclusions of the message', () => {
    expect(matches('timeout')).toEqual(['web-01']);
    expect(matches('TIMEOUT retry')).toEqual(['web-01']);
    expect(matches('check*')).toEqual(['db-01']);
    expect(matches('"complete checkpoint"')).toEqual(['db-01']);
    expect(matches('-timeout')).toEqual(['db-01']);
    expect(matches('NOT timeout')).toEqual(['db-01']);
  });

  it('matches name:value on columns and on fields, nested with dots, with wildcards and comparisons', () => {
    expect(matches('host:web-01')).toEqual(['web-01']);
    expect(matches('host:web-*')).toEqual(['web-01']);
    expect(matches('app:postgres')).toEqual(['db-01']);
    expect(matches('pid:4121')).toEqual(['web-01']);
    expect(matches('pid:>100')).toEqual(['web-01']);
    expect(matches('severity:err')).toEqual(['web-01']);
    expect(matches('severity:warning+')).toEqual(['web-01']);
    expect(matches('user:bob')).toEqual(['web-01']);
    expect(matches('http.status:502')).toEqual(['web-01']);
    expect(matches('fields.http.method:GET')).toEqual(['web-01']);
    expect(matches('status:>=500')).toEqual(['web-01']);
    // A number in text compares as text: "200" equals 200 typed, but is not a number for >.
    expect(matches('status:200')).toEqual(['db-01']);
    expect(matches('status:>=200')).toEqual(['web-01']);
    expect(matches('status:5*')).toEqual(['web-01']);
    expect(matches('cached:false')).toEqual(['web-01']);
    expect(matches('code:007')).toEqual(['web-01']);
    expect(matches('code:7')).toEqual([]);
    expect(matches('-user:bob')).toEqual(['db-01']);
    expect(matches('missing:x')).toEqual([]);
    expect(matches('-missing:x')).toEqual(['web-01', 'db-01']);
    expect(matches('user:"bob"')).toEqual(['web-01']);
  });

  it('combines with AND, OR and parentheses', () => {
    expect(matches('timeout OR checkpoint')).toEqual(['web-01', 'db-01']);
    expect(matches('(host:db-* OR status:>=500) -checkpoint')).toEqual(['web-01']);
    expect(matches('host:web-01 AND (user:alice OR user:bob)')).toEqual(['web-01']);
    expect(matches('host:web-01 user:alice OR checkpoint')).toEqual(['db-01']);
  });

  it('says where a malformed query goes wrong and what was expected', () => {
    expect(badQuery('status:')).toMatchObject({
      message: "q at position 8: expected a value after 'status:'",
      position: 8,
    });
    expect(badQuery('(timeout OR retry')).toMatchObject({
      message: 'q at position 18: expected ) to close the ( here',
    });
    expect(badQuery('timeout)')).toMatchObject({
      message: 'q at position 8: this ) closes nothing',
      position: 8,
    });
    expect(badQuery('a OR')).toMatchObject({ position: 3 });
    expect(badQuery('"unclosed phrase')).toMatchObject({
      message: 'q at position 1: this quote is never closed',
    });
    expect(badQuery('status:>=fast')).toMatchObject({
      message: "q at position 10: >= compares numbers, not 'fast'",
    });
    expect(badQuery('severity:loud').message).toContain("unknown severity 'loud'");
    expect(badQuery('!!').message).toContain('has no words');
    expect(badQuery('   ').message).toContain('expected a word');
    expect(badQuery('status:').hint).toContain('status:>=500');
  });
});
