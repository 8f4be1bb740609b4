import type { SerializedError } from '../store/read-protocol.js';
import type { CollectorStatus } from '../status.js';

/** What the API thread starts with (api-thread.ts). */
export interface ApiThreadData {
  readonly dbPath: string;
  /** A PostgreSQL store's URL, or null for the SQLite file. */
  readonly storeUrl: string | null;
  readonly listen: { readonly host: string; readonly port: number };
  readonly token: string | undefined;
  readonly allowedHosts: readonly string[] | null;
  readonly reads: { readonly workers: number; readonly timeoutMs: number; readonly maxWaiting: number };
  readonly logLevel: string;
  readonly status: CollectorStatus;
}

/** The ingest thread to the API thread. */
export type ToApiThread =
  | { readonly type: 'status'; readonly status: CollectorStatus }
  | { readonly type: 'stored'; readonly lastSeq: number }
  | { readonly type: 'metrics'; readonly id: number; readonly text: string }
  | { readonly type: 'close' };

/** The API thread to the ingest thread. */
export type FromApiThread =
  | { readonly type: 'listening'; readonly url: string }
  | { readonly type: 'failed'; readonly stage: 'start' | 'listen'; readonly error: SerializedError }
  | { readonly type: 'metrics-wanted'; readonly id: number }
  | { readonly type: 'closed' };
