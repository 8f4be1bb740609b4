import { ErrorCodes, redactUrl, WarrenError, type StoredRecord } from '../protocol/index.js';
import { getFromApi, setFilters, toRecord, type ApiFilters, type ApiOptions } from './api.js';

export interface HistoryQuery extends ApiFilters {
  /** Records per request (the API's max is 10 000). */
  pageSize?: number;
  /** Only the newest this many (`logtail -n`): one newest-first page, yielded oldest first. */
  newest?: number | undefined;
}

/** One page of history. */
export interface HistoryPage {
  records: StoredRecord[];
  /** Entries of the page that were not records (reported by the caller, never silently skipped). */
  invalid: number;
  /** The store position the history was read at (`stream_cursor`): follow the stream from here. */
  streamCursor: string | undefined;
}

/**
 * History from `GET /api/logs`, oldest first, one page at a time (`order=asc` and the opaque
 * cursor), so a long backfill streams instead of being held in memory.
 */
export async function* fetchHistory(query: HistoryQuery, options: ApiOptions): AsyncGenerator<HistoryPage> {
  let cursor: string | null = null;
  do {
    const url = new URL(`${options.apiUrl}/api/logs`);
    setFilters(url, query);
    url.searchParams.set('order', query.newest === undefined ? 'asc' : 'desc');
    url.searchParams.set('limit', String(query.newest ?? query.pageSize ?? 1000));
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    const response = await getFromApi(url, options);
    if (response === undefined) return;
    let body: { records?: unknown; next?: unknown; stream_cursor?: unknown };
    try {
      body = (await response.json()) as { records?: unknown; next?: unknown; stream_cursor?: unknown };
    } catch (err) {
      throw new WarrenError(
        ErrorCodes.API_ERROR,
        `the Warren API at ${redactUrl(options.apiUrl)} sent invalid JSON`,
        {
          cause: err,
          hint: 'is --api pointing at a Warren collector?',
        },
      );
    }
    if (!Array.isArray(body.records)) {
      throw new WarrenError(
        ErrorCodes.API_ERROR,
        `the Warren API at ${redactUrl(options.apiUrl)} sent no "records"`,
        {
          hint: 'is --api pointing at a Warren collector?',
        },
      );
    }
    const records: StoredRecord[] = [];
    let invalid = 0;
    for (const raw of body.records as unknown[]) {
      const record = toRecord(raw);
      if (record === undefined) invalid++;
      else records.push(record);
    }
    // Every page, empty ones too: the first one carries the position to follow the stream from.
    const streamCursor =
      typeof body.stream_cursor === 'string' && /^[0-9]{1,16}$/.test(body.stream_cursor)
        ? body.stream_cursor
        : undefined;
    if (query.newest !== undefined) {
      yield { records: records.reverse(), invalid, streamCursor };
      return;
    }
    yield { records, invalid, streamCursor };
    cursor = typeof body.next === 'string' && body.next !== '' ? body.next : null;
  } while (cursor !== null);
}
