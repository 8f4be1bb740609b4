import type pg from 'pg';
import type { RetentionRule } from '../../config.js';
import { ruleFor } from '../retention.js';
import type { Retention, RetentionPass } from '../store.js';
import { DAY_MS, listPartitions, partitionName } from './schema.js';

export interface PgRetentionOptions {
  readonly rules: readonly RetentionRule[];
  readonly now: () => number;
  /** Rows deleted per transaction when a rule covers only some keys of a day. */
  readonly rowsPerStep?: number;
  /** Told of each day partition dropped. */
  readonly onDropped: (day: number) => void;
}

/**
 * Retention on PostgreSQL (rules as CONTRACT §5: first matching rule, unmatched keys kept): a day
 * whose every key with records has expired under its rule is dropped whole (instant, no dead
 * rows); otherwise expired rows go in small transactions, key by key.
 */
export function createPgRetention(pool: pg.Pool, options: PgRetentionOptions): Retention {
  const rowsPerStep = options.rowsPerStep ?? 2000;
  return {
    async runPass(maxSteps = 50): Promise<RetentionPass> {
      const pass: RetentionPass = { deleted: 0, more: false };
      if (options.rules.length === 0) return pass;
      const now = options.now();
      const keys = (
        await pool.query<{ key_id: number; routing_key: string }>(
          'SELECT key_id, routing_key FROM routing_keys',
        )
      ).rows;
      // Each key's cutoff: records before it are expired (null: kept forever).
      const cutoffs = new Map<number, number | null>();
      for (const key of keys) {
        const rule = ruleFor(options.rules, key.routing_key);
        cutoffs.set(key.key_id, rule === undefined ? null : now - rule.maxAgeMs);
      }
      let steps = 0;
      for (const day of await listPartitions(pool)) {
        const end = day + DAY_MS;
        const name = partitionName(day);
        const present = (
          await pool.query<{ key_id: number }>(
            // One index probe per key, not a scan of the day.
            `SELECT k.key_id FROM routing_keys k WHERE EXISTS (SELECT 1 FROM ${name} r WHERE r.key_id = k.key_id)`,
          )
        ).rows.map((row) => row.key_id);
        // Only days wholly past: the partitions kept ready for the next days are empty, not expired.
        const whole =
          end <= now &&
          present.every((id) => {
            const cutoff = cutoffs.get(id);
            return cutoff !== undefined && cutoff !== null && cutoff >= end;
          });
        if (whole) {
          if (steps >= maxSteps) return { ...pass, more: true };
          const counted = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${name}`);
          await pool.query(`DROP TABLE IF EXISTS ${name}`);
          options.onDropped(day);
          pass.deleted += counted.rows[0]?.n ?? 0;
          steps++;
          continue;
        }
        for (const id of present) {
          const cutoff = cutoffs.get(id);
          if (cutoff === undefined || cutoff === null || cutoff <= day) continue;
          for (;;) {
            if (steps >= maxSteps) return { ...pass, more: true };
            const deleted = await pool.query(
              `DELETE FROM ${name} WHERE (ts, seq) IN (SELECT ts, seq FROM ${name} WHERE key_id = $1 AND ts < $2 LIMIT $3)`,
              [id, cutoff, rowsPerStep],
            );
            steps++;
            pass.deleted += deleted.rowCount ?? 0;
            if ((deleted.rowCount ?? 0) < rowsPerStep) break;
          }
        }
      }
      return pass;
    },
  };
}
