import type { ReadableStreamDefaultReader } from 'node:stream/web';
import { ErrorCodes, redactUrl, WarrenError, type StoredRecord } from '../protocol/index.js';
import { getFromApi, setFilters, toRecord, unreachable, type ApiFilters, type ApiOptions } from './api.js';
import { SseParser, type SseMessage } from './sse.js';

/** What the collector's stream says, grouped per network read so the sink gets batches. */
export type StoreEvent =
  | { type: 'records'; records: StoredRecord[]; invalid: number }
  /** The collector skipped records because this client was too slow. */
  | { type: 'dropped'; count: number }
  /** The position no longer lines up with the store (rebuilt or emptied); it follows the newest. */
  | { type: 'reset' };

/**
 * Reads `GET /api/logs/stream` from store position `after`: every matching record stored after it,
 * whatever its timestamp, in store order. Resolves when `options.signal` aborts; rejects with a
 * WarrenError when the API cannot be reached, refuses, reports an error or ends the stream.
 */
export async function readStoreStream(
  query: ApiFilters,
  after: string,
  options: ApiOptions,
  onEvent: (event: StoreEvent) => void | Promise<void>,
): Promise<void> {
  const url = new URL(`${options.apiUrl}/api/logs/stream`);
  setFilters(url, query);
  url.searchParams.set('cursor', after);
  const response = await getFromApi(url, options, { accept: 'text/event-stream' });
  if (response === undefined) return;
  if (response.body === null) throw ended(options.apiUrl);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  // The DOM-less lib types the body loosely; fetch bodies are bytes.
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (options.signal?.aborted === true) return;
        throw unreachable(options.apiUrl, err);
      }
      if (chunk.done) {
        if (options.signal?.aborted === true) return;
        throw ended(options.apiUrl);
      }
      for (const event of toEvents(
        parser.push(decoder.decode(chunk.value, { stream: true })),
        options.apiUrl,
      )) {
        await onEvent(event);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Messages → events, records of one read batched; a generator, so what came before an error is still shown. */
function* toEvents(messages: readonly SseMessage[], apiUrl: string): Generator<StoreEvent> {
  let batch: { type: 'records'; records: StoredRecord[]; invalid: number } | undefined;
  for (const message of messages) {
    if (message.event === 'message') {
      batch ??= { type: 'records', records: [], invalid: 0 };
      const record = toRecord(parseJson(message.data));
      if (record === undefined) batch.invalid++;
      else batch.records.push(record);
      continue;
    }
    if (batch !== undefined) yield batch;
    batch = undefined;
    if (message.event === 'dropped') {
      const count = (parseJson(message.data) as { count?: unknown } | undefined)?.count;
      yield { type: 'dropped', count: typeof count === 'number' ? count : 0 };
    } else if (message.event === 'reset') {
      yield { type: 'reset' };
    } else if (message.event === 'error') {
      const text = (parseJson(message.data) as { message?: unknown } | undefined)?.message;
      throw new WarrenError(
        ErrorCodes.API_ERROR,
        `the Warren API at ${redactUrl(apiUrl)} failed its live stream: ${typeof text === 'string' ? text : message.data}`,
        { hint: 'see the collector log; try again' },
      );
    }
    // Other event types are for other clients: ignored, as SSE intends.
  }
  if (batch !== undefined) yield batch;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function ended(apiUrl: string): WarrenError {
  return new WarrenError(
    ErrorCodes.API_ERROR,
    `the Warren API at ${redactUrl(apiUrl)} ended its live stream`,
    {
      hint: 'is the collector shutting down? see its log; try again',
    },
  );
}
