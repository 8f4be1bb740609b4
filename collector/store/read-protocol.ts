import { isWarrenError, WarrenError, type ErrorCode } from '../../protocol/index.js';
import type { ReadMethod } from './query.js';

/** One read sent to a reader process, and its answer (IPC with the structured clone). */
export interface ReadRequest {
  readonly id: number;
  readonly method: ReadMethod;
  readonly args: readonly unknown[];
}

export type ReadReply =
  /** Sent once when the process has loaded: a read's deadline starts only then. */
  | { readonly ready: true }
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

export interface SerializedError {
  readonly message: string;
  readonly code?: ErrorCode;
  readonly hint?: string;
  readonly context?: Record<string, unknown>;
}

/** An error as it can cross to the collector: a WarrenError keeps its code and hint. */
export function serializeError(err: unknown): SerializedError {
  if (isWarrenError(err)) {
    return {
      message: err.message,
      code: err.code,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      context: err.context,
    };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

export function deserializeError(error: SerializedError): Error {
  if (error.code === undefined) return new Error(error.message);
  return new WarrenError(error.code, error.message, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.context === undefined ? {} : { context: error.context }),
  });
}
