import { describe, expect, it } from 'vitest';
import { RecordEncoder, sharedFields } from '../../agents/encoder.js';
import { CONTENT_TYPE_NDJSON, decodeMessage, encodeBatch, ndjsonBody } from '../../protocol/index.js';

describe('agent encoding through the protocol codec', () => {
  it('frames hand-built lines as the NDJSON body the collector decodes, one record per line', () => {
    const encoder = new RecordEncoder({ host: 'web-01', app: 'api', pid: 7 }, () => 0);
    const lines = [1, 2].map((n) => encoder.encode({ msg: `m${n}`, ts: '2026-01-01T00:00:00.000Z' }));
    const { records, rejected } = decodeMessage({
      routingKey: 'kern.info',
      content: ndjsonBody(lines),
      contentType: CONTENT_TYPE_NDJSON,
      // The batcher's message id (<agent id>:<first seq>) gives each line its id.
      messageId: 'web-01:4f2a:40',
    });
    expect(rejected).toEqual([]);
    expect(records.map((r) => [r.id, r.msg])).toEqual([
      ['web-01:4f2a:40:0', 'm1'],
      ['web-01:4f2a:40:1', 'm2'],
    ]);
  });

  it('frames like encodeBatch: one newline after every line', () => {
    expect(ndjsonBody(['{"msg":"a"}', '{"msg":"b"}'])).toEqual(encodeBatch([{ msg: 'a' }, { msg: 'b' }]));
  });

  it('writes shared fields once per object, and an application fields object as it is at each call', () => {
    const encoder = new RecordEncoder({ host: 'web-01', app: 'api', pid: 7 }, () => 0);
    const fieldsOf = (line: string): unknown => (JSON.parse(line) as { fields?: unknown }).fields;
    const sender = sharedFields({ sender: '10.0.0.1' });
    expect(Object.isFrozen(sender)).toBe(true);
    expect(fieldsOf(encoder.encode({ msg: 'a', fields: sender }))).toEqual({ sender: '10.0.0.1' });
    expect(fieldsOf(encoder.encode({ msg: 'b', fields: sender }))).toEqual({ sender: '10.0.0.1' });
    // An application may log one object again after changing it: each line says what it held then.
    const mutable: Record<string, unknown> = { n: 1 };
    expect(fieldsOf(encoder.encode({ msg: 'c', fields: mutable }))).toEqual({ n: 1 });
    mutable.n = 2;
    expect(fieldsOf(encoder.encode({ msg: 'd', fields: mutable }))).toEqual({ n: 2 });
    expect(fieldsOf(encoder.encode({ msg: 'e', fields: sharedFields({ sender: '10.0.0.2' }) }))).toEqual({
      sender: '10.0.0.2',
    });
  });
});
