import { describe, expect, it } from 'vitest';
import {
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_NDJSON,
  decodeMessage,
  encodeBatch,
  encodeRecord,
  type StoredRecord,
} from '../../protocol/index.js';

// After every ts below: a record more than 5 minutes ahead of its arrival is re-timed (guardClock).
const NOW = new Date('2026-11-21T23:00:00.000Z');

describe('record codec', () => {
  it('decodes one application/json record; the routing key wins over the body', () => {
    const body = {
      id: 'web-01:4f2a:1207',
      ts: '2026-11-21T22:33:54.123Z',
      facility: 'auth',
      severity: 'info',
      host: 'web-01',
      app: 'api',
      pid: 4121,
      msg: 'disk failure on sda',
      fields: { disk: 'sda' },
    };
    const { records, rejected } = decodeMessage(
      { routingKey: 'kern.critical', content: encodeRecord(body), contentType: CONTENT_TYPE_JSON },
      NOW,
    );
    expect(rejected).toEqual([]);
    expect(records).toEqual<StoredRecord[]>([
      { ...body, facility: 'kern', severity: 'critical', routing_key: 'kern.critical' },
    ]);
  });

  it('decodes NDJSON batches, keeps good lines and rejects bad ones with a reason', () => {
    const content = Buffer.from(
      [
        JSON.stringify({ id: 'a:1', msg: 'one' }),
        '{not json',
        '',
        JSON.stringify([1, 2]),
        JSON.stringify({ id: 'a:2', note: 'no msg' }),
        JSON.stringify({ id: 'a:3', msg: 'three', ts: 'yesterday-ish' }),
      ].join('\n'),
    );
    const { records, rejected } = decodeMessage(
      { routingKey: 'app.info', content, contentType: CONTENT_TYPE_NDJSON, timestamp: NOW.getTime() / 1000 },
      NOW,
    );
    expect(records.map((r) => [r.id, r.msg, r.severity, r.ts])).toEqual([
      ['a:1', 'one', 'info', NOW.toISOString()],
      ['a:3', 'three', 'info', NOW.toISOString()],
    ]);
    expect(rejected.map((r) => r.reason)).toEqual([
      expect.stringContaining('invalid JSON') as string,
      'record is not a JSON object',
      'record has no "msg"',
    ]);
    expect(rejected[0]?.raw).toBe('{not json');
  });

  it('treats any other content type as plain text from a foreign publisher', () => {
    const { records } = decodeMessage(
      {
        routingKey: 'kern.critical',
        content: Buffer.from('disk failure\n'),
        messageId: 'm-1',
        timestamp: 1_700_000_000,
      },
      NOW,
    );
    expect(records).toEqual([
      {
        id: 'm-1:0',
        ts: new Date(1_700_000_000_000).toISOString(),
        facility: 'kern',
        severity: 'critical',
        msg: 'disk failure',
        routing_key: 'kern.critical',
      },
    ]);
  });

  it('accepts AMQP timestamps in seconds or milliseconds, else uses arrival', () => {
    const at = (timestamp: number | undefined): string | undefined =>
      decodeMessage({ routingKey: 'a.info', content: Buffer.from('x'), timestamp }, NOW).records[0]?.ts;
    expect(at(1_700_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(at(1_700_000_000_123)).toBe('2023-11-14T22:13:20.123Z');
    expect(at(undefined)).toBe(NOW.toISOString());
    expect(at(0)).toBe(NOW.toISOString());
  });

  it('stores every parseable ts as the canonical ISO form of the same instant', () => {
    // Arrival after every ts here, so none is re-timed as a clock from the future.
    const late = new Date('9999-12-31T23:59:59.999Z');
    const stored = (ts: string): string | undefined =>
      decodeMessage(
        { routingKey: 'a.info', content: encodeRecord({ msg: 'x', ts }), contentType: CONTENT_TYPE_JSON },
        late,
      ).records[0]?.ts;
    // Canonical already, or only one roll-over away from it: what V8 would turn into another day.
    const tricky = [
      '2026-11-21T22:33:54.123Z',
      '2026-02-28T23:59:59.999Z',
      '2026-02-29T00:00:00.000Z',
      '2026-02-31T10:00:00.000Z',
      '2024-02-29T12:00:00.000Z',
      '2026-04-31T10:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '2026-11-21T22:33:54Z',
      '2026-11-21T22:33:54.1Z',
      '2026-11-21T23:33:54.123+01:00',
      '2026-11-21 22:33:54.123Z',
      'Sat, 21 Nov 2026 22:33:54 GMT',
    ];
    const random = (n: number): string => String(Math.floor(Math.random() * n)).padStart(2, '0');
    for (let i = 0; i < 2000; i++) {
      tricky.push(
        `20${random(100)}-${random(13)}-${random(32)}T${random(25)}:${random(60)}:${random(60)}.${random(1000).padStart(3, '0')}Z`,
      );
    }
    for (const ts of tricky) {
      const ms = Date.parse(ts);
      expect(stored(ts), ts).toBe(Number.isNaN(ms) ? late.toISOString() : new Date(ms).toISOString());
    }
  });

  it('stores odd keys with what can be read and keeps the original key', () => {
    const body = encodeRecord({ msg: 'hi', facility: 'daemon', severity: 'warn' });
    const odd = decodeMessage({ routingKey: 'a.b.c', content: body, contentType: CONTENT_TYPE_JSON }, NOW);
    expect(odd.records[0]).toMatchObject({ facility: 'daemon', severity: 'warning', routing_key: 'a.b.c' });
    const unknownSeverity = decodeMessage({ routingKey: 'kern.loud', content: Buffer.from('x') }, NOW);
    expect(unknownSeverity.records[0]).toMatchObject({
      facility: 'kern',
      severity: 'notice',
      routing_key: 'kern.loud',
    });
  });

  it('rejects a body that is not UTF-8 as a whole', () => {
    const { records, rejected } = decodeMessage(
      {
        routingKey: 'app.info',
        content: Buffer.from([0x66, 0xff, 0xfe, 0x00]),
        contentType: CONTENT_TYPE_JSON,
      },
      NOW,
    );
    expect(records).toEqual([]);
    expect(rejected).toEqual([{ raw: expect.any(String) as string, reason: 'body is not valid UTF-8' }]);
  });

  it('round-trips a batch', () => {
    const batch = [
      { id: 'x:1', msg: 'first' },
      { id: 'x:2', msg: 'second\nwith a newline inside' },
    ];
    const decoded = decodeMessage(
      {
        routingKey: 'app.debug',
        content: encodeBatch(batch),
        contentType: `${CONTENT_TYPE_NDJSON}; charset=utf-8`,
      },
      NOW,
    );
    expect(decoded.rejected).toEqual([]);
    expect(decoded.records.map((r) => r.msg)).toEqual(['first', 'second\nwith a newline inside']);
    expect(() => encodeBatch([])).toThrow(/empty batch/);
  });
});
