import type { Message, Options } from 'amqplib';
import { ERROR_HEADER, decodeDelivery, type StoredRecord } from '../../protocol/index.js';

/** Something the collector cannot store, bound for `<exchange>.dead` with its reason. */
export interface DeadLetter {
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly reason: string;
}

/** What one delivery becomes: records for the store, dead letters for `<exchange>.dead`. */
export interface TriagedDelivery {
  readonly records: StoredRecord[];
  readonly deadLetters: DeadLetter[];
}

/** Headers that say where a dead letter came from, besides the reason (CONTRACT §1). */
function deadLetterOptions(message: Message, queue: string, reason: string): Options.Publish {
  const { properties, fields } = message;
  const headers: Record<string, unknown> = {
    ...(properties.headers ?? {}),
    [ERROR_HEADER]: reason,
    'x-warren-routing-key': fields.routingKey,
    'x-warren-exchange': fields.exchange,
    'x-warren-queue': queue,
  };
  const options: Options.Publish = { persistent: true, headers };
  if (typeof properties.contentType === 'string') options.contentType = properties.contentType;
  if (typeof properties.messageId === 'string') options.messageId = properties.messageId;
  if (typeof properties.timestamp === 'number') options.timestamp = properties.timestamp;
  if (typeof properties.appId === 'string') options.appId = properties.appId;
  return options;
}

function whole(message: Message, queue: string, reason: string): TriagedDelivery {
  const options = deadLetterOptions(message, queue, reason);
  // The original bytes travel, so their encoding does too (a bad line alone is re-encoded text).
  if (typeof message.properties.contentEncoding === 'string')
    options.contentEncoding = message.properties.contentEncoding;
  return {
    records: [],
    deadLetters: [
      {
        routingKey: message.fields.routingKey,
        content: message.content,
        options,
        reason,
      },
    ],
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${bytes} bytes`;
}

/**
 * One delivery → the records to store and what goes to the dead-letter exchange. A message that
 * yields no record at all is dead-lettered whole, byte for byte; otherwise each bad line goes alone
 * with its own reason, so the good lines of an NDJSON batch are kept.
 */
export function triageDelivery(
  message: Message,
  queue: string,
  maxBytes: number,
  now: Date,
): TriagedDelivery {
  const { content, properties } = message;
  if (content.length > maxBytes) {
    return whole(
      message,
      queue,
      `message body of ${formatBytes(content.length)} exceeds the ${formatBytes(maxBytes)} limit`,
    );
  }
  const encoding =
    typeof properties.contentEncoding === 'string' ? properties.contentEncoding.trim().toLowerCase() : '';
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'utf-8' && encoding !== 'utf8') {
    return whole(
      message,
      queue,
      `content encoding '${encoding}' is not supported; publish uncompressed text`,
    );
  }
  const decoded = decodeDelivery(message, now);
  if (decoded.rejected.length === 0) return { records: decoded.records, deadLetters: [] };
  if (decoded.records.length === 0) {
    const first = decoded.rejected[0]?.reason ?? 'nothing could be read';
    const more = decoded.rejected.length > 1 ? ` (and ${decoded.rejected.length - 1} more bad lines)` : '';
    return { ...whole(message, queue, first + more), records: [] };
  }
  return {
    records: decoded.records,
    deadLetters: decoded.rejected.map((rejected) => ({
      routingKey: message.fields.routingKey,
      content: Buffer.from(rejected.raw),
      options: deadLetterOptions(message, queue, rejected.reason),
      reason: rejected.reason,
    })),
  };
}
