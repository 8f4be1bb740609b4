import type { Db } from './database.js';

/**
 * Most records' ids are their message's id and their line in it, `<message_id>:<n>` (CONTRACT §4).
 * The SQLite store keeps such a run of records (ids `P:0`, `P:1`, … in consecutive rows) without
 * their ids: one `messages` row (schema v6) holds the run's prefix and its seq range, and each
 * record's id is read back as `<prefix>:<seq − first_seq>`. A write then pays one unique-index entry
 * per message instead of one per record (issue 15, seventh round). Any other id (a body's own, a run
 * broken by a rejected line) is stored in `records.id` as before, and dedupe stays per record id
 * across both: an id is a duplicate if either holds it. One exception, to spare a lookup per record:
 * a run checks only its first id against the rows, so a foreign body's own id `P:5` stored before a
 * message `P` of six lines arrives is kept twice.
 */

/** A record's id as read: its own, or its run's (`r` is the records row). */
export const RECORD_ID_SQL = `coalesce(r.id, (SELECT CASE WHEN m.last_seq >= r.seq THEN m.message_id || ':' || (r.seq - m.first_seq) END FROM messages m WHERE m.first_seq <= r.seq ORDER BY m.first_seq DESC LIMIT 1))`;

const LINE = /^(?:0|[1-9][0-9]{0,8})$/;

/** `<prefix>:<n>` split at its last colon, when n is a plain decimal (as a run writes it); else null. */
export function splitRunId(id: string): { prefix: string; line: number } | null {
  const colon = id.lastIndexOf(':');
  if (colon <= 0) return null;
  const line = id.slice(colon + 1);
  return LINE.test(line) ? { prefix: id.slice(0, colon), line: Number(line) } : null;
}

/** Where an id is held, for readers too (a read-only connection prepares only these). */
export interface RunLookups {
  /** Whether a run already holds this id. */
  holds(id: string): boolean;
  /** The seq of the record with this id, stored with it or in a run; null when there is none. */
  seqOf(id: string): number | null;
}

export interface MessageRuns extends RunLookups {
  /**
   * Starts a run at `firstSeq` for the record whose id is `<prefix>:0`; false if that prefix already
   * has a run (a redelivery), then its records go the per-record way.
   */
  start(prefix: string, firstSeq: number): boolean;
  /** Closes the run started at `firstSeq`, its last record at `lastSeq`. */
  close(firstSeq: number, lastSeq: number): void;
  /** Forgets the runs of these deleted records that have no record left (retention deleted them). */
  forgetEmpty(deletedSeqs: readonly number[]): void;
}

export function runLookups(db: Db): RunLookups {
  const runOf = db.prepare(
    'SELECT first_seq AS firstSeq, last_seq AS lastSeq FROM messages WHERE message_id = ?',
  );
  const ownId = db.prepare('SELECT seq FROM records WHERE id = ?').pluck();
  const idlessAt = db.prepare('SELECT 1 FROM records WHERE seq = ? AND id IS NULL');
  const inRun = (id: string): number | null => {
    const split = splitRunId(id);
    if (split === null) return null;
    const run = runOf.get(split.prefix) as { firstSeq: number; lastSeq: number } | undefined;
    if (run === undefined) return null;
    const seq = run.firstSeq + split.line;
    return seq <= run.lastSeq ? seq : null;
  };
  return {
    holds: (id) => inRun(id) !== null,
    seqOf(id) {
      const own = ownId.get(id) as number | undefined;
      if (own !== undefined) return own;
      const seq = inRun(id);
      // A run's seq whose row retention deleted is not this record.
      return seq !== null && idlessAt.get(seq) !== undefined ? seq : null;
    },
  };
}

export function messageRuns(db: Db): MessageRuns {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO messages (first_seq, last_seq, message_id) VALUES (?, ?, ?)',
  );
  const setLast = db.prepare('UPDATE messages SET last_seq = ? WHERE first_seq = ?');
  const runAt = db
    .prepare('SELECT first_seq FROM messages WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1')
    .pluck();
  const forget = db.prepare(
    `DELETE FROM messages WHERE first_seq = ?
       AND NOT EXISTS (SELECT 1 FROM records WHERE seq BETWEEN messages.first_seq AND messages.last_seq)`,
  );
  return {
    ...runLookups(db),
    start: (prefix, firstSeq) => insert.run(firstSeq, firstSeq, prefix).changes === 1,
    close(firstSeq, lastSeq) {
      if (lastSeq !== firstSeq) setLast.run(lastSeq, firstSeq);
    },
    forgetEmpty(deletedSeqs) {
      const runs = new Set<number>();
      for (const seq of deletedSeqs) {
        const first = runAt.get(seq) as number | undefined;
        if (first !== undefined) runs.add(first);
      }
      for (const first of runs) forget.run(first);
    },
  };
}
