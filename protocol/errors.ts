/** The one catalogue of Warren's error codes: tests assert on the code, the CLIs map it to an exit code. */
export const ErrorCodes = {
  BAD_USAGE: 'WARREN_BAD_USAGE',
  BAD_PATTERN: 'WARREN_BAD_PATTERN',
  BAD_ROUTING_KEY: 'WARREN_BAD_ROUTING_KEY',
  BAD_FACILITY: 'WARREN_BAD_FACILITY',
  BAD_SEVERITY: 'WARREN_BAD_SEVERITY',
  BAD_DURATION: 'WARREN_BAD_DURATION',
  BAD_RECORD: 'WARREN_BAD_RECORD',
  BROKER_UNREACHABLE: 'WARREN_BROKER_UNREACHABLE',
  BROKER_AUTH: 'WARREN_BROKER_AUTH',
  TOPOLOGY_CLASH: 'WARREN_TOPOLOGY_CLASH',
  API_UNREACHABLE: 'WARREN_API_UNREACHABLE',
  API_ERROR: 'WARREN_API_ERROR',
  STORE_UNAVAILABLE: 'WARREN_STORE_UNAVAILABLE',
  SPOOL_FULL: 'WARREN_SPOOL_FULL',
  SHUTDOWN_INCOMPLETE: 'WARREN_SHUTDOWN_INCOMPLETE',
  // HTTP API answers (CONTRACT §6): 400 for the first three, 401, 404, 503.
  BAD_REQUEST: 'WARREN_BAD_REQUEST',
  BAD_QUERY: 'WARREN_BAD_QUERY',
  BAD_CURSOR: 'WARREN_BAD_CURSOR',
  UNAUTHORIZED: 'WARREN_UNAUTHORIZED',
  NOT_FOUND: 'WARREN_NOT_FOUND',
  TOO_MANY_STREAMS: 'WARREN_TOO_MANY_STREAMS',
  INTERNAL: 'WARREN_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes that mean the user asked for something malformed: CONTRACT §5 exit code 2. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.BAD_USAGE,
  ErrorCodes.BAD_PATTERN,
  ErrorCodes.BAD_ROUTING_KEY,
  ErrorCodes.BAD_FACILITY,
  ErrorCodes.BAD_SEVERITY,
  ErrorCodes.BAD_DURATION,
  ErrorCodes.BAD_REQUEST,
  ErrorCodes.BAD_QUERY,
  ErrorCodes.BAD_CURSOR,
]);

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
    return USAGE_CODES.has(this.code) ? 2 : 1;
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
