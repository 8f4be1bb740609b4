import { describe, expect, it } from 'vitest';
import { baseContentType, countRecords, decodeDelivery, type Delivery } from '../../protocol/index.js';

function delivery(body: string, properties: Delivery['properties'] = {}): Delivery {
  return { fields: { routingKey: 'app.info' }, content: Buffer.from(body), properties };
}

const ndjson = { contentType: 'application/x-ndjson; charset=utf-8' };

describe('an AMQP delivery', () => {
  it('reads its base content type, whatever the case and parameters', () => {
    expect(baseContentType(' Application/X-NDJSON ; charset=utf-8')).toBe('application/x-ndjson');
    expect(baseContentType(undefined)).toBe('');
    expect(baseContentType(42)).toBe('');
  });

  it('counts, without decoding, exactly the NDJSON records the decoder reads', () => {
    for (const body of [
      '{"msg":"a"}\n{"msg":"b"}\n',
      '{"msg":"a"}\n\n  \r\n\t\n{"msg":"b"}',
      '{"msg":"a"}\r\n{"msg":\n',
      '\n\n',
      '',
    ]) {
      const decoded = decodeDelivery(delivery(body, ndjson));
      expect(countRecords(delivery(body, ndjson)), JSON.stringify(body)).toBe(
        decoded.records.length + decoded.rejected.length,
      );
    }
  });

  it('counts any other body as one record', () => {
    expect(countRecords(delivery('a\nb\n', { contentType: 'text/plain' }))).toBe(1);
    expect(countRecords(delivery('{"msg":"a"}\n{"msg":"b"}\n', { contentType: 'application/json' }))).toBe(1);
  });

  it('takes the id and the time from the properties it can read', () => {
    const { records } = decodeDelivery(
      delivery('{"msg":"a"}', { contentType: 'application/json', messageId: 'm1', timestamp: 1_700_000_000 }),
      new Date('2023-11-14T22:14:00.000Z'),
    );
    expect(records[0]).toMatchObject({ id: 'm1:0', ts: '2023-11-14T22:13:20.000Z', routing_key: 'app.info' });
  });
});
