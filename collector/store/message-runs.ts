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

/** Where a record keeps its id: in its run (stored without it), in its row, or nowhere (already held). */
export type Placement = 'run' | 'row' | 'duplicate';

/** One batch's placing of ids, inside its transaction: its state dies with it, so a rollback leaves none. */
export interface RunBatch {
  /** Places the id of the record to be stored next, at `nextSeq`. */
  place(id: string | null, nextSeq: number): Placement;
  /** Closes the open run, if any, after the batch's last record (stored at `lastSeq`). */
  end(lastSeq: number): void;
}

/** The writer's side: one `batch()` per transaction. */
export interface MessageRuns {
  batch(): RunBatch;
}

/** The seq of the record with this id, stored with it or in a run; null when there is none. */
export function idFinder(db: Db): (id: string) => number | null {
  const ownId = db.prepare('SELECT seq FROM records WHERE id = ?').pluck();
  const runSeq = runSeqFinder(db);
  const idlessAt = db.prepare('SELECT 1 FROM records WHERE seq = ? AND id IS NULL');
  return (id) => {
    const own = ownId.get(id) as number | undefined;
    if (own !== undefined) return own;
    const seq = runSeq(id);
    // A run's seq whose row retention deleted is not this record.
    return seq !== null && idlessAt.get(seq) !== undefined ? seq : null;
  };
}

/** The seq a run gives this id, whether or not its row is still there; null if no run holds it. */
function runSeqFinder(db: Db): (id: string) => number | null {
  const runOf = db.prepare(
    'SELECT first_seq AS firstSeq, last_seq AS lastSeq FROM messages WHERE message_id = ?',
  );
  return (id) => {
    const split = splitRunId(id);
    if (split === null) return null;
    const run = runOf.get(split.prefix) as { firstSeq: number; lastSeq: number } | undefined;
    if (run === undefined) return null;
    const seq = run.firstSeq + split.line;
    return seq <= run.lastSeq ? seq : null;
  };
}

/** The longest line number read digit by digit: past 15 digits a double could round. */
const MAX_LINE_DIGITS = 15;

/**
 * Whether `id` is `${prefix}:${line}`, read in place: the run's next id was built per record to
 * compare it, a string made and thrown away for nearly every record stored (~2% of the collector).
 */
export function isLine(id: string, prefix: string, line: number): boolean {
  const colon = prefix.length;
  const digits = id.length - colon - 1;
  if (digits < 1 || digits > MAX_LINE_DIGITS || id.charCodeAt(colon) !== 58 || !id.startsWith(prefix))
    return false;
  // `${line}` has no leading zero unless it is 0 itself.
  if (digits > 1 && id.charCodeAt(colon + 1) === 48) return false;
  let value = 0;
  for (let at = colon + 1; at < id.length; at++) {
    const digit = id.charCodeAt(at) - 48;
    if (digit < 0 || digit > 9) return false;
    value = value * 10 + digit;
  }
  return value === line;
}

export function messageRuns(db: Db): MessageRuns {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO messages (first_seq, last_seq, message_id) VALUES (?, ?, ?)',
  );
  const setLast = db.prepare('UPDATE messages SET last_seq = ? WHERE first_seq = ?');
  const ownId = db.prepare('SELECT 1 FROM records WHERE id = ?');
  const runSeq = runSeqFinder(db);
  // While no row holds its own id, a run's first id cannot be held by one: that lookup is skipped.
  // Set by a row that may yet roll back: a stale true only costs the lookup.
  let ownIdsStored = db.prepare('SELECT 1 FROM records WHERE id IS NOT NULL LIMIT 1').get() !== undefined;

  return {
    batch() {
      // The open run: its prefix, the line its next record must have, and its first seq.
      let open: { prefix: string; next: number; first: number } | null = null;
      const close = (lastSeq: number): void => {
        if (open !== null && lastSeq !== open.first) setLast.run(lastSeq, open.first);
        open = null;
      };
      return {
        place(id, nextSeq) {
          if (open !== null && id !== null && isLine(id, open.prefix, open.next)) {
            open.next++;
            return 'run';
          }
          // Every record stored since the run opened was in it.
          close(nextSeq - 1);
          if (id === null) return 'row';
          if (id.endsWith(':0') && id.length > 2 && !(ownIdsStored && ownId.get(id) !== undefined)) {
            const prefix = id.slice(0, -2);
            if (insert.run(nextSeq, nextSeq, prefix).changes === 1) {
              open = { prefix, next: 1, first: nextSeq };
              return 'run';
            }
          }
          if (runSeq(id) !== null) return 'duplicate';
          ownIdsStored = true;
          return 'row';
        },
        end: close,
      };
    },
  };
}

/** Forgets the runs of these deleted records that have no record left (after retention deleted them). */
export function emptyRunsForgetter(db: Db): (deletedSeqs: readonly number[]) => void {
  const runAt = db
    .prepare('SELECT first_seq FROM messages WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1')
    .pluck();
  const forget = db.prepare(
    `DELETE FROM messages WHERE first_seq = ?
       AND NOT EXISTS (SELECT 1 FROM records WHERE seq BETWEEN messages.first_seq AND messages.last_seq)`,
  );
  return (deletedSeqs) => {
    const runs = new Set<number>();
    for (const seq of deletedSeqs) {
      const first = runAt.get(seq) as number | undefined;
      if (first !== undefined) runs.add(first);
    }
    for (const first of runs) forget.run(first);
  };
}
