import type { Message } from 'amqplib';
import {
  CONTENT_TYPE_NDJSON,
  baseContentType,
  decodeMessage,
  type DecodeResult,
  type IncomingMessage,
} from './record.js';
import { isPlainObject } from './json.js';

/** The parts of an amqplib delivery Warren reads: what a consumer gets, or a test builds. */
export interface Delivery {
  readonly fields: Pick<Message['fields'], 'routingKey'>;
  readonly content: Buffer;
  /** amqplib types them `any`: each is checked before it is read. */
  readonly properties: {
    readonly contentType?: unknown;
    readonly messageId?: unknown;
    readonly timestamp?: unknown;
    readonly headers?: unknown;
  };
}

/** The one adapter from amqplib's loosely typed properties to what the record codec reads. */
export function incomingMessage(delivery: Delivery): IncomingMessage {
  const { properties } = delivery;
  return {
    routingKey: delivery.fields.routingKey,
    content: delivery.content,
    contentType: typeof properties.contentType === 'string' ? properties.contentType : undefined,
    messageId: typeof properties.messageId === 'string' ? properties.messageId : undefined,
    timestamp: typeof properties.timestamp === 'number' ? properties.timestamp : undefined,
    headers: isPlainObject(properties.headers) ? properties.headers : undefined,
  };
}

/** A delivery's records, and what in it cannot be read as one (CONTRACT §4). */
export function decodeDelivery(delivery: Delivery, now?: Date): DecodeResult {
  return decodeMessage(incomingMessage(delivery), now);
}

const NEWLINE = 0x0a;

/** The ASCII bytes `String.prototype.trim` removes: a line of only these is blank to the decoder. */
function isBlank(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function lineHasText(content: Buffer, start: number, end: number): boolean {
  for (let at = start; at < end; at++) {
    if (!isBlank(content[at] ?? NEWLINE)) return true;
  }
  return false;
}

/**
 * Records a delivery holds, counted without decoding it: NDJSON carries one per non-blank line (the
 * decoder skips blank ones), anything else is one record.
 */
export function countRecords(delivery: Pick<Delivery, 'content' | 'properties'>): number {
  if (baseContentType(delivery.properties.contentType) !== CONTENT_TYPE_NDJSON) return 1;
  const { content } = delivery;
  let records = 0;
  for (let start = 0; start < content.length;) {
    const newline = content.indexOf(NEWLINE, start);
    const end = newline === -1 ? content.length : newline;
    if (lineHasText(content, start, end)) records++;
    start = end + 1;
  }
  return records;
}
