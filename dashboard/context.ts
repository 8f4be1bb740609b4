import { errorMessage, isWarrenError } from '../protocol/index.js';
import { getFromApi, toRecord, type ApiOptions } from './api.js';
import type { Context } from './state.js';

/** Lines the detail panel asks for on each side of the selected record. */
export const CONTEXT_LINES = 10;

/**
 * The lines around a record from `GET /api/logs/context` (same host and app): what the screen's
 * detail panel shows under the record. Never throws: a failure is a context that says why.
 */
export async function loadContext(api: ApiOptions, id: string, around = CONTEXT_LINES): Promise<Context> {
  const url = new URL('/api/logs/context', api.apiUrl);
  url.searchParams.set('id', id);
  url.searchParams.set('before', String(around));
  url.searchParams.set('after', String(around));
  try {
    const response = await getFromApi(url, api);
    if (response === undefined) return { state: 'failed', message: 'cancelled', hint: undefined };
    const body = (await response.json()) as { records?: unknown; target?: unknown };
    const records = Array.isArray(body.records) ? body.records.map(toRecord) : [];
    if (typeof body.target !== 'number' || records.some((r) => r === undefined)) {
      return {
        state: 'failed',
        message: 'the API answered with something that is not a context',
        hint: undefined,
      };
    }
    return { state: 'loaded', records: records.filter((r) => r !== undefined), target: body.target };
  } catch (err) {
    return {
      state: 'failed',
      message: errorMessage(err),
      hint: isWarrenError(err) ? err.hint : undefined,
    };
  }
}
