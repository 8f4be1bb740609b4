import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { errorMessage } from '../../protocol/index.js';
import { JOURNAL_SIZE_LIMIT, type Db } from './database.js';

function walSize(dbPath: string): number {
  try {
    return statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
}

/**
 * Keeps the WAL bounded while the HTTP API reads. SQLite's automatic checkpoints are PASSIVE and
 * cannot rewind the WAL past a reader; when the file has grown beyond its limit anyway, a TRUNCATE
 * checkpoint with a short busy wait catches the gap between queries, without stalling ingest for long.
 */
export function checkpointIfLarge(
  db: Db,
  dbPath: string,
  logger: Logger,
  limit = JOURNAL_SIZE_LIMIT,
): boolean {
  const before = walSize(dbPath);
  if (before <= limit) return false;
  const busy = db.pragma('busy_timeout', { simple: true }) as number;
  try {
    db.pragma('busy_timeout = 200');
    const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    logger.info(
      { walBytes: before, afterBytes: walSize(dbPath), busy: row?.busy },
      'checkpointed a large WAL',
    );
    return true;
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'WAL checkpoint failed; will retry');
    return false;
  } finally {
    db.pragma(`busy_timeout = ${busy}`);
  }
}

export function startCheckpoints(
  db: Db,
  dbPath: string,
  intervalMs: number,
  logger: Logger,
): { stop(): void } {
  const timer = setInterval(() => checkpointIfLarge(db, dbPath, logger), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** On shutdown: fold the WAL into the file and remove it, so the store is one file at rest. */
export function closeDatabase(db: Db, logger: Logger): void {
  try {
    db.pragma('optimize');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    logger.warn(
      { err: errorMessage(err) },
      'final checkpoint failed; the WAL is kept and replayed on next open',
    );
  }
  db.close();
}
