import type { Logger } from 'pino';
import type { StoredRecord } from '../../protocol/index.js';
import type { RetentionRule } from '../config.js';
import type { LedgerChanges, LedgerRow } from '../ingest/redeliveries.js';

/**
 * What the ingest side asks of a store, whichever it is: the SQLite file (sqlite-store.ts, the
 * embedded default) or PostgreSQL shared by several collectors (postgres/pg-store.ts). The read
 * side is QueryStore (query.ts). Every method is a promise: PostgreSQL answers over the network.
 */

/** What one committed batch did. */
export interface WriteResult {
  /** Rows inserted (new ids, or records without id). */
  stored: number;
  /** Records whose id was already stored: a redelivery after a crash between commit and ack. */
  duplicates: number;
  /** Highest seq the live stream may read up to now (it resumes from it); 0 for an empty store. */
  lastSeq: number;
  /** Newest record time in this batch, ms since the epoch; null when nothing was stored. */
  newestTs: number | null;
}

/** What one retention pass did. */
export interface RetentionPass {
  deleted: number;
  /** True when a key still had expired rows after the pass's step budget. */
  more: boolean;
}

export interface Retention {
  /** One bounded pass; at most `maxSteps` small transactions. */
  runPass(maxSteps?: number): Promise<RetentionPass>;
}

export interface IngestStore {
  /** For logs and errors: the file, or the URL without its password. */
  readonly location: string;
  /**
   * Stores the records in ONE transaction with the redelivery ledger's changes; rejects (and
   * stores nothing) on failure. Records whose id is already stored are counted, not stored. The
   * records are read once per attempt, in order (the committer decodes them as they are read).
   */
  write(records: Iterable<StoredRecord>, ledger?: LedgerChanges): Promise<WriteResult>;
  /** The redelivery ledger's rows left by earlier runs. */
  ledgerRows(): Promise<LedgerRow[]>;
  /** The ledger's rows with these digests now (another collector's, on a shared store). */
  ledgerRowsFor(digests: readonly string[]): Promise<LedgerRow[]>;
  /** Removes settled ledger rows now (at shutdown). */
  removeLedgerRows(ids: readonly number[]): Promise<void>;
  /** The binding keys last remembered for a queue on an exchange (AMQP cannot list them). */
  bindings(queue: string, exchange: string): Promise<string[]>;
  rememberBindings(queue: string, exchange: string, keys: readonly string[]): Promise<void>;
  retention(rules: readonly RetentionRule[], now: () => number): Retention;
  /** Background upkeep while the collector runs (checkpoints, partitions ahead of need). */
  maintain(logger: Logger): { stop(): void };
  close(logger: Logger): Promise<void>;
}
