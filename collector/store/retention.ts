import type { Logger } from 'pino';
import { errorMessage, patternMatches } from '../../protocol/index.js';
import type { RetentionRule } from '../config.js';
import type { Db } from './database.js';
import { emptyRunsForgetter } from './message-runs.js';
import type { Retention, RetentionPass } from './store.js';

export interface RetentionOptions {
  readonly rules: readonly RetentionRule[];
  readonly now: () => number;
  /** Rows deleted per transaction: small, so ingest (same thread) waits milliseconds at most. */
  readonly rowsPerStep?: number;
}

/** The first rule whose pattern matches the key decides its age limit (CONTRACT §5); none means kept. */
export function ruleFor(rules: readonly RetentionRule[], routingKey: string): RetentionRule | undefined {
  return rules.find((rule) => patternMatches(rule, routingKey));
}

/**
 * Deletes expired records in small transactions. The FTS rows go too: an external-content FTS5
 * table needs the old text to un-index a row, so it is read before the row is deleted.
 */
export function createRetention(db: Db, options: RetentionOptions): Retention {
  const rowsPerStep = options.rowsPerStep ?? 2000;
  const keys = db.prepare('SELECT key_id AS keyId, routing_key AS routingKey FROM routing_keys');
  // The newest row is never deleted: seq is a plain rowid (max + 1), so deleting the newest would let
  // seq values be reused, and the API's cursors and stream resumption rely on seq only growing.
  const expired = db.prepare(
    'SELECT seq, msg FROM records WHERE key_id = ? AND ts < ? AND seq < (SELECT max(seq) FROM records) ORDER BY ts LIMIT ?',
  );
  const unindex = db.prepare("INSERT INTO records_fts (records_fts, rowid, msg) VALUES ('delete', ?, ?)");
  const remove = db.prepare('DELETE FROM records WHERE seq = ?');
  const forgetEmptyRuns = emptyRunsForgetter(db);

  const step = db.transaction((keyId: number, cutoff: number): number => {
    const rows = expired.all(keyId, cutoff, rowsPerStep) as { seq: number; msg: string }[];
    for (const row of rows) {
      unindex.run(row.seq, row.msg);
      remove.run(row.seq);
    }
    forgetEmptyRuns(rows.map((row) => row.seq));
    return rows.length;
  });

  return {
    /**
     * One bounded pass: at most `maxSteps` transactions, yielding to the event loop between them
     * so batches from the broker commit in between.
     */
    async runPass(maxSteps = 50): Promise<RetentionPass> {
      const pass: RetentionPass = { deleted: 0, more: false };
      if (options.rules.length === 0) return pass;
      const now = options.now();
      let steps = 0;
      for (const { keyId, routingKey } of keys.all() as { keyId: number; routingKey: string }[]) {
        const rule = ruleFor(options.rules, routingKey);
        if (rule === undefined) continue;
        const cutoff = now - rule.maxAgeMs;
        for (;;) {
          if (steps >= maxSteps) {
            pass.more = true;
            return pass;
          }
          const deleted = step(keyId, cutoff);
          steps++;
          pass.deleted += deleted;
          if (deleted < rowsPerStep) break;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      return pass;
    },
  };
}

/** Runs retention passes in the background until stopped; a failure is logged and retried later. */
export function startRetention(
  retention: Retention,
  intervalMs: number,
  logger: Logger,
  onDeleted: (count: number) => void,
): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = (): void => {
    timer = null;
    running = retention
      .runPass()
      .then((pass) => {
        if (pass.deleted > 0) {
          onDeleted(pass.deleted);
          logger.info({ deleted: pass.deleted }, 'retention deleted expired records');
        }
        return pass.more;
      })
      .catch((err: unknown) => {
        logger.warn({ err: errorMessage(err) }, 'retention pass failed; will retry');
        return false;
      })
      .then((more) => {
        running = null;
        // More to do: continue soon, but leave room for ingest.
        if (!stopped) timer = setTimeout(tick, more ? 50 : intervalMs);
      });
  };
  timer = setTimeout(tick, Math.min(intervalMs, 1000));
  return {
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      if (running !== null) await running;
    },
  };
}
