import type { ConsumeMessage, Options } from 'amqplib';
import { CONTENT_TYPE_NDJSON, ERROR_HEADER, decodeMessage, type StoredRecord } from '../protocol/index.js';

/** Something the collector cannot store, bound for `<exchange>.dead` with its reason. */
export interface DeadLetter {
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly reason: string;
}

export interface DecodedDelivery {
  readonly records: StoredRecord[];
  readonly deadLetters: DeadLetter[];
}

/** Headers that say where a dead letter came from, besides the reason (CONTRACT §1). */
function deadLetterOptions(message: ConsumeMessage, queue: string, reason: string): Options.Publish {
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

function whole(message: ConsumeMessage, queue: string, reason: string): DecodedDelivery {
  return {
    records: [],
    deadLetters: [
      {
        routingKey: message.fields.routingKey,
        content: message.content,
        options: deadLetterOptions(message, queue, reason),
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
export function decodeDelivery(
  message: ConsumeMessage,
  queue: string,
  maxBytes: number,
  now: Date,
): DecodedDelivery {
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
  const decoded = decodeMessage(
    {
      routingKey: message.fields.routingKey,
      content,
      contentType: typeof properties.contentType === 'string' ? properties.contentType : undefined,
      messageId: typeof properties.messageId === 'string' ? properties.messageId : undefined,
      timestamp: typeof properties.timestamp === 'number' ? properties.timestamp : undefined,
    },
    now,
  );
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

const NEWLINE = 0x0a;

/** How many records a delivery holds, without decoding it: NDJSON lines, otherwise one. */
export function estimateRecords(message: ConsumeMessage): number {
  const type: unknown = message.properties.contentType;
  if (typeof type !== 'string' || type.split(';')[0]?.trim().toLowerCase() !== CONTENT_TYPE_NDJSON) return 1;
  const { content } = message;
  let lines = 0;
  for (let at = content.indexOf(NEWLINE); at !== -1; at = content.indexOf(NEWLINE, at + 1)) lines++;
  if (content.length > 0 && content[content.length - 1] !== NEWLINE) lines++;
  return Math.max(1, lines);
}
