import { crc32 } from 'node:zlib';
import type { Batch } from './batch.js';

/**
 * How the spool writes one batch to disk. Frame: u32 payload length, u32 crc32(payload), payload =
 * u16 key length, key, u16 id length, message id, u32 count, f64 first sequence, body.
 */
export const FRAME_HEADER_BYTES = 8;

/** One batch as a frame, header included, ready to append. */
export function encodeFrame(batch: Batch): Buffer {
  const key = Buffer.from(batch.key, 'utf8');
  const id = Buffer.from(batch.messageId, 'utf8');
  const payloadLength = 2 + key.length + 2 + id.length + 4 + 8 + batch.body.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadLength);
  frame.writeUInt32BE(payloadLength, 0);
  let o = FRAME_HEADER_BYTES;
  o = frame.writeUInt16BE(key.length, o);
  o += key.copy(frame, o);
  o = frame.writeUInt16BE(id.length, o);
  o += id.copy(frame, o);
  o = frame.writeUInt32BE(batch.count, o);
  o = frame.writeDoubleBE(batch.firstSeq, o);
  batch.body.copy(frame, o);
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

/** The header's two fields: the payload's length and its checksum. */
export function readFrameHeader(header: Buffer): { length: number; crc: number } {
  return { length: header.readUInt32BE(0), crc: header.readUInt32BE(4) };
}

/** The batch in a frame's payload; undefined when the checksum fails or the payload does not hold together. */
export function decodeFrame(payload: Buffer, crc: number): Batch | undefined {
  return crc32(payload) === crc ? decodePayload(payload) : undefined;
}

function decodePayload(payload: Buffer): Batch | undefined {
  try {
    let o = 0;
    const keyLength = payload.readUInt16BE(o);
    o += 2;
    const key = payload.toString('utf8', o, o + keyLength);
    o += keyLength;
    const idLength = payload.readUInt16BE(o);
    o += 2;
    const messageId = payload.toString('utf8', o, o + idLength);
    o += idLength;
    const count = payload.readUInt32BE(o);
    o += 4;
    const firstSeq = payload.readDoubleBE(o);
    o += 8;
    if (o > payload.length) return undefined;
    return { key, messageId, count, firstSeq, body: Buffer.from(payload.subarray(o)) };
  } catch {
    return undefined;
  }
}
