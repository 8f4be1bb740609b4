import {
  ErrorCodes,
  errorMessage,
  isSeverity,
  redactUrl,
  WarrenError,
  type StoredRecord,
} from '../protocol/index.js';

export interface HistoryQuery {
  /** Pattern sources as the user gave them (the API speaks the same pattern language). */
  patterns: readonly string[];
  since: Date;
  until?: Date | undefined;
  q?: string | undefined;
  host?: string | undefined;
  /** Records per request (the API's max is 10 000). */
  pageSize?: number;
}

export interface HistoryOptions {
  apiUrl: string;
  token: string | undefined;
  signal?: AbortSignal | undefined;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** The API serves records as CONTRACT §4 plus routing_key; anything else is refused, not guessed. */
export function toRecord(value: unknown): StoredRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.msg !== 'string' || typeof r.ts !== 'string' || typeof r.routing_key !== 'string')
    return undefined;
  if (typeof r.facility !== 'string' || typeof r.severity !== 'string' || !isSeverity(r.severity))
    return undefined;
  const record: StoredRecord = {
    id: typeof r.id === 'string' ? r.id : null,
    ts: r.ts,
    facility: r.facility,
    severity: r.severity,
    msg: r.msg,
    routing_key: r.routing_key,
  };
  if (typeof r.host === 'string') record.host = r.host;
  if (typeof r.app === 'string') record.app = r.app;
  if (typeof r.pid === 'number') record.pid = r.pid;
  if (typeof r.fields === 'object' && r.fields !== null && !Array.isArray(r.fields)) {
    record.fields = r.fields as Record<string, unknown>;
  }
  return record;
}

export function unreachable(apiUrl: string, err: unknown): WarrenError {
  // fetch says only "fetch failed"; the socket's reason is in its cause.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const reason =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : errorMessage(err);
  return new WarrenError(
    ErrorCodes.API_UNREACHABLE,
    `cannot reach the Warren API at ${redactUrl(apiUrl)} (${reason})`,
    {
      cause: err,
      hint: 'start the collector (logcollect serves the API), point --api / WARREN_API at it, or drop --since to tail live only',
    },
  );
}

export async function apiError(apiUrl: string, response: Response): Promise<WarrenError> {
  let message = `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: the status says enough
  }
  if (response.status === 401 || response.status === 403) {
    return new WarrenError(
      ErrorCodes.API_ERROR,
      `the Warren API at ${redactUrl(apiUrl)} refused access (${message})`,
      {
        hint: "set WARREN_TOKEN to the collector's token",
      },
    );
  }
  if (response.status === 400) {
    return new WarrenError(ErrorCodes.BAD_USAGE, `the Warren API refused the query: ${message}`, {
      hint: 'check --since, -q and the patterns',
    });
  }
  return new WarrenError(ErrorCodes.API_ERROR, `the Warren API at ${redactUrl(apiUrl)} failed: ${message}`, {
    hint: 'see the collector log; try again',
  });
}

/** One page of history. */
export interface HistoryPage {
  records: StoredRecord[];
  /** Entries of the page that were not records (reported by the caller, never silently skipped). */
  invalid: number;
  /** The store position the history was read at (`stream_cursor`): follow the stream from here. */
  streamCursor: string | undefined;
}

/** The filters `/api/logs` and `/api/logs/stream` share. */
export function setFilters(url: URL, query: Omit<HistoryQuery, 'pageSize'>): void {
  for (const p of query.patterns) url.searchParams.append('pattern', p);
  url.searchParams.set('since', query.since.toISOString());
  if (query.until !== undefined) url.searchParams.set('until', query.until.toISOString());
  if (query.q !== undefined) url.searchParams.set('q', query.q);
  if (query.host !== undefined) url.searchParams.set('host', query.host);
}

/** The request headers: the bearer token when there is one. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/**
 * History from `GET /api/logs`, oldest first, one page at a time (`order=asc` and the opaque
 * cursor), so a long backfill streams instead of being held in memory.
 */
export async function* fetchHistory(
  query: HistoryQuery,
  options: HistoryOptions,
): AsyncGenerator<HistoryPage> {
  const doFetch = options.fetch ?? fetch;
  let cursor: string | null = null;
  do {
    const url = new URL(`${options.apiUrl}/api/logs`);
    setFilters(url, query);
    url.searchParams.set('order', 'asc');
    url.searchParams.set('limit', String(query.pageSize ?? 1000));
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    let response: Response;
    try {
      response = await doFetch(url, {
        headers: authHeaders(options.token),
        signal: options.signal ?? null,
      });
    } catch (err) {
      if (options.signal?.aborted === true) return;
      throw unreachable(options.apiUrl, err);
    }
    if (!response.ok) throw await apiError(options.apiUrl, response);
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
    yield { records, invalid, streamCursor };
    cursor = typeof body.next === 'string' && body.next !== '' ? body.next : null;
  } while (cursor !== null);
}
