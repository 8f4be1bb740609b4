import {
  ErrorCodes,
  errorMessage,
  isPlainObject,
  isSeverity,
  redactUrl,
  WarrenError,
  type StoredRecord,
} from '../protocol/index.js';

/** Where the Warren HTTP API is, and how to reach it. */
export interface ApiOptions {
  apiUrl: string;
  token: string | undefined;
  signal?: AbortSignal | undefined;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** The filters `/api/logs` and `/api/logs/stream` share. */
export interface ApiFilters {
  /** Pattern sources as the user gave them (the API speaks the same pattern language). */
  patterns: readonly string[];
  since: Date;
  /** End of the window (exclusive), `--until`; none: up to now. */
  until?: Date | undefined;
  q?: string | undefined;
  host?: string | undefined;
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
  if (isPlainObject(r.fields)) record.fields = r.fields;
  return record;
}

/** Puts the filters on a request's URL. */
export function setFilters(url: URL, query: ApiFilters): void {
  for (const p of query.patterns) url.searchParams.append('pattern', p);
  url.searchParams.set('since', query.since.toISOString());
  if (query.until !== undefined) url.searchParams.set('until', query.until.toISOString());
  if (query.q !== undefined) url.searchParams.set('q', query.q);
  if (query.host !== undefined) url.searchParams.set('host', query.host);
}

/** The request headers: the bearer token when there is one. */
function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/**
 * One GET from the API: the response when it is OK; undefined when `options.signal` aborted it;
 * a WarrenError naming the API when it cannot be reached or refuses.
 */
export async function getFromApi(
  url: URL,
  options: ApiOptions,
  headers: Record<string, string> = {},
): Promise<Response | undefined> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { ...authHeaders(options.token), ...headers },
      signal: options.signal ?? null,
    });
  } catch (err) {
    if (options.signal?.aborted === true) return undefined;
    throw unreachable(options.apiUrl, err);
  }
  if (!response.ok) throw await apiError(options.apiUrl, response);
  return response;
}

/** The API could not be reached: says which, why, and what to do. */
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

async function apiError(apiUrl: string, response: Response): Promise<WarrenError> {
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
