/**
 * The one catalogue of Warren's error codes (CONTRACT §8), each with what it means to a caller:
 * `usage` codes exit 2 (CONTRACT §5), the rest 1; `status` is the HTTP API's answer (CONTRACT §6),
 * 500 if unset.
 */
interface CatalogueEntry {
  readonly code: `WARREN_${string}`;
  readonly usage?: true;
  readonly status?: number;
}

const CATALOGUE = {
  BAD_USAGE: { code: 'WARREN_BAD_USAGE', usage: true, status: 400 },
  BAD_PATTERN: { code: 'WARREN_BAD_PATTERN', usage: true, status: 400 },
  BAD_ROUTING_KEY: { code: 'WARREN_BAD_ROUTING_KEY', usage: true, status: 400 },
  BAD_FACILITY: { code: 'WARREN_BAD_FACILITY', usage: true, status: 400 },
  BAD_SEVERITY: { code: 'WARREN_BAD_SEVERITY', usage: true, status: 400 },
  BAD_DURATION: { code: 'WARREN_BAD_DURATION', usage: true, status: 400 },
  BAD_RECORD: { code: 'WARREN_BAD_RECORD' },
  BROKER_UNREACHABLE: { code: 'WARREN_BROKER_UNREACHABLE' },
  BROKER_AUTH: { code: 'WARREN_BROKER_AUTH' },
  BROKER_TLS: { code: 'WARREN_BROKER_TLS' },
  TOPOLOGY_CLASH: { code: 'WARREN_TOPOLOGY_CLASH' },
  API_UNREACHABLE: { code: 'WARREN_API_UNREACHABLE' },
  API_ERROR: { code: 'WARREN_API_ERROR' },
  STORE_UNAVAILABLE: { code: 'WARREN_STORE_UNAVAILABLE', status: 503 },
  STORE_LOCKED: { code: 'WARREN_STORE_LOCKED' },
  SPOOL_FULL: { code: 'WARREN_SPOOL_FULL' },
  SHUTDOWN_INCOMPLETE: { code: 'WARREN_SHUTDOWN_INCOMPLETE' },
  // Codes only the HTTP API answers with.
  BAD_REQUEST: { code: 'WARREN_BAD_REQUEST', usage: true, status: 400 },
  BAD_QUERY: { code: 'WARREN_BAD_QUERY', usage: true, status: 400 },
  BAD_CURSOR: { code: 'WARREN_BAD_CURSOR', usage: true, status: 400 },
  UNAUTHORIZED: { code: 'WARREN_UNAUTHORIZED', status: 401 },
  BAD_HOST: { code: 'WARREN_BAD_HOST', status: 403 },
  NOT_FOUND: { code: 'WARREN_NOT_FOUND', status: 404 },
  TOO_MANY_STREAMS: { code: 'WARREN_TOO_MANY_STREAMS', status: 503 },
  QUERY_TIMEOUT: { code: 'WARREN_QUERY_TIMEOUT', status: 504 },
  QUERY_BUSY: { code: 'WARREN_QUERY_BUSY', status: 503 },
  INTERNAL: { code: 'WARREN_INTERNAL', status: 500 },
} as const satisfies Record<string, CatalogueEntry>;

type Catalogue = typeof CATALOGUE;

/** Each code by name (`ErrorCodes.BAD_USAGE` is `'WARREN_BAD_USAGE'`): tests assert on the code. */
export const ErrorCodes = Object.freeze(
  Object.fromEntries(Object.entries(CATALOGUE).map(([name, entry]) => [name, entry.code])),
) as { readonly [Name in keyof Catalogue]: Catalogue[Name]['code'] };

export type ErrorCode = Catalogue[keyof Catalogue]['code'];

const ENTRIES: ReadonlyMap<string, CatalogueEntry> = new Map(
  Object.values(CATALOGUE).map((entry: CatalogueEntry) => [entry.code, entry]),
);

/** The HTTP status the API answers a code with; a code the catalogue gives none is a server fault. */
export function httpStatusOf(code: ErrorCode): number {
  return ENTRIES.get(code)?.status ?? 500;
}

function isUsageCode(code: ErrorCode): boolean {
  return ENTRIES.get(code)?.usage === true;
}

export interface WarrenErrorOptions {
  /** What the user can do about it, printed on its own line by the CLIs. */
  hint?: string;
  cause?: unknown;
  /** Structured context (queue name, argument, input) for logs and tests. */
  context?: Record<string, unknown>;
}

/** One error class carrying a stable code, a message that names what failed, and what to do. */
export class WarrenError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: WarrenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WarrenError';
    this.code = code;
    this.hint = options.hint;
    this.context = options.context ?? {};
  }

  /** 2 for bad usage, 1 for runtime failures (CONTRACT §5). */
  get exitCode(): 1 | 2 {
    return isUsageCode(this.code) ? 2 : 1;
  }

  /** What the HTTP API answers this error with (CONTRACT §6). */
  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

export function isWarrenError(err: unknown, code?: ErrorCode): err is WarrenError {
  return err instanceof WarrenError && (code === undefined || err.code === code);
}

/** The message of anything thrown, for logs and one-line diagnostics. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
