import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, decodeFrame, encodeFrame, readFrameHeader } from '../../agents/spool-frame.js';

describe('spool frame', () => {
  const batch = {
    key: 'kern.info',
    messageId: 'web-01:4f2a:7',
    count: 2,
    firstSeq: 7,
    body: Buffer.from('{"msg":"a"}\n{"msg":"b"}\n'),
  };

  it('gives back the batch it framed', () => {
    const frame = encodeFrame(batch);
    const { length, crc } = readFrameHeader(frame.subarray(0, FRAME_HEADER_BYTES));
    expect(FRAME_HEADER_BYTES + length).toBe(frame.length);
    expect(decodeFrame(frame.subarray(FRAME_HEADER_BYTES), crc)).toEqual(batch);
  });

  it('refuses a payload whose checksum fails', () => {
    const frame = encodeFrame(batch);
    const { crc } = readFrameHeader(frame);
    const at = frame.length - 2;
    frame.writeUInt8(frame.readUInt8(at) ^ 0xff, at);
    expect(decodeFrame(frame.subarray(FRAME_HEADER_BYTES), crc)).toBeUndefined();
  });
});
