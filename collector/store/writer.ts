import { severityRank, type StoredRecord } from '../../protocol/index.js';
import type { LedgerChanges } from '../ingest/redeliveries.js';
import type { Db } from './database.js';
import { messageRuns } from './message-runs.js';
import type { WriteResult } from './store.js';

export interface BatchWriter {
  /**
   * Stores the records in ONE synchronous transaction, with the redelivery ledger's changes (which
   * must commit or roll back with them); throws (and stores nothing) on failure.
   */
  write(records: Iterable<StoredRecord>, ledger?: LedgerChanges): WriteResult;
}

/**
 * Applies a batch's ledger changes to unsettled_messages (inside the caller's transaction); claims
 * change nothing here: one collector per SQLite file.
 */
export function ledgerWriter(db: Db): (changes: LedgerChanges) => void {
  const insert = db.prepare('INSERT INTO unsettled_messages (rowid, batch, digest) VALUES (?, ?, ?)');
  const remove = db.prepare('DELETE FROM unsettled_messages WHERE rowid = ?');
  return (changes) => {
    for (const id of changes.remove) remove.run(id);
    for (const row of changes.add) insert.run(row.id, row.batch, row.digest);
  };
}

/**
 * A record's ts in ms since the epoch. Agents stamp records per millisecond, so neighbours mostly
 * share a ts: each is parsed once (both stores' writers use this).
 */
export function createTsParser(): (ts: string) => number {
  let parsedTs = '';
  let parsedMs = NaN;
  return (ts) => {
    if (ts !== parsedTs) {
      parsedTs = ts;
      parsedMs = Date.parse(ts);
    }
    return parsedMs;
  };
}

type Primitive = string | number | boolean | null | undefined;

function isPrimitive(value: unknown): value is Primitive {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

/**
 * A record's fields as JSON text. Neighbours mostly carry equal flat fields (a syslog relay's
 * `{sender}`, an application's constant context), so the last text is reused while each object has
 * the same keys, in the same order, with the same primitive values as the one it was made from
 * (kept as copies, so a later change to that object cannot leak in): a compare instead of a
 * `JSON.stringify` per record. Objects holding objects are always stringified.
 */
export function createFieldsEncoder(): (fields: Record<string, unknown> | undefined) => string | null {
  let keys: string[] | null = null;
  let values: Primitive[] = [];
  let text: string | null = null;
  const sameAsLast = (fields: Record<string, unknown>): boolean => {
    if (keys === null) return false;
    let at = 0;
    for (const key in fields) {
      if (at === keys.length || key !== keys[at] || fields[key] !== values[at]) return false;
      at++;
    }
    return at === keys.length;
  };
  return (fields) => {
    if (fields === undefined) return null;
    if (sameAsLast(fields)) return text;
    text = JSON.stringify(fields);
    keys = [];
    values = [];
    for (const key in fields) {
      const value = fields[key];
      if (!isPrimitive(value)) {
        keys = null;
        break;
      }
      keys.push(key);
      values.push(value);
    }
    return text;
  };
}

/** The records columns a write binds, in the order recordValues writes them. */
const RECORD_COLUMNS = '(id, ts, key_id, facility, severity, host, app, pid, msg, fields)';
const VALUES_PER_RECORD = 10;
const RECORD_ROW = `(${Array<string>(VALUES_PER_RECORD).fill('?').join(', ')})`;

/**
 * Records of runs are inserted RUN_CHUNK to a statement. Stored without an id, such a record cannot
 * conflict, so its seq (max+1) is known before the insert; and better-sqlite3 makes a result object
 * per run() call. One call per 64 records took the writer's instructions per record down 15% and its
 * CPU 10–19% (issue 15, `measure.js instructions` and `alternate`); larger chunks gain little more.
 */
export const RUN_CHUNK = 64;

/** Writes a record's values for RECORD_COLUMNS into `values` at `row`. */
function recordValues(
  values: unknown[],
  row: number,
  record: StoredRecord,
  id: string | null,
  ts: number,
  keyId: number,
  fields: string | null,
): void {
  let at = row * VALUES_PER_RECORD;
  values[at++] = id;
  values[at++] = ts;
  values[at++] = keyId;
  values[at++] = record.facility;
  values[at++] = severityRank(record.severity);
  values[at++] = record.host ?? null;
  values[at++] = record.app ?? null;
  values[at++] = record.pid ?? null;
  values[at++] = record.msg;
  values[at] = fields;
}

/**
 * Prepared statements, one transaction per batch. Routing keys are few: their ids are cached, and a
 * key first seen in a batch enters the cache only once that batch commits (a rollback forgets it).
 * Records whose ids run `P:0`, `P:1`, … are stored as a run without them (message-runs.ts), held
 * until RUN_CHUNK of them go in one insert.
 */
export function createBatchWriter(db: Db): BatchWriter {
  const insertRecord = db.prepare<unknown[]>(
    `INSERT OR IGNORE INTO records ${RECORD_COLUMNS} VALUES ${RECORD_ROW}`,
  );
  // OR FAIL, not the default ABORT: an ABORT of a many-row statement must undo its own rows, so
  // SQLite copied every page it touched into a statement journal (9% of its instructions here);
  // a failure still throws, and the batch's transaction rolls back whole.
  const insertRunChunk = db.prepare<unknown[]>(
    `INSERT OR FAIL INTO records ${RECORD_COLUMNS} VALUES ${Array<string>(RUN_CHUNK).fill(RECORD_ROW).join(', ')}`,
  );
  // Rows get seq max+1 (and retention never deletes the newest), so a batch's rows are exactly
  // those above the max it started from: one statement indexes them all, one call instead of one per row.
  const indexNew = db.prepare(
    'INSERT INTO records_fts (rowid, msg) SELECT seq, msg FROM records WHERE seq > ?',
  );
  const insertKey = db.prepare('INSERT OR IGNORE INTO routing_keys (routing_key) VALUES (?)');
  const selectKey = db.prepare('SELECT key_id FROM routing_keys WHERE routing_key = ?').pluck();
  const maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM records').pluck();

  const writeLedger = ledgerWriter(db);
  const runs = messageRuns(db);
  const keyIds = new Map<string, number>();
  const tsMs = createTsParser();
  const fieldsJson = createFieldsEncoder();
  const one = new Array<unknown>(VALUES_PER_RECORD);
  const held = new Array<unknown>(RUN_CHUNK * VALUES_PER_RECORD);
  let heldRows = 0;

  /** Inserts the held run records, which must end at `lastSeq` (the seq the runs gave them). */
  const insertHeld = (lastSeq: number): void => {
    if (heldRows === 0) return;
    let last: number | bigint;
    if (heldRows === RUN_CHUNK) last = insertRunChunk.run(...held).lastInsertRowid;
    else {
      last = 0;
      for (let row = 0; row < heldRows; row++) {
        const at = row * VALUES_PER_RECORD;
        last = insertRecord.run(...held.slice(at, at + VALUES_PER_RECORD)).lastInsertRowid;
      }
    }
    heldRows = 0;
    // The runs' ids are read back by seq: a gap would misname every record after it.
    if (Number(last) !== lastSeq)
      throw new Error(`run records got seqs up to ${String(last)}, expected ${lastSeq}`);
  };

  const run = db.transaction(
    (
      records: Iterable<StoredRecord>,
      newKeys: Map<string, number>,
      ledger: LedgerChanges | undefined,
    ): WriteResult => {
      // A batch that threw midway left its held rows behind, and rolled back their runs with them.
      heldRows = 0;
      if (ledger !== undefined) writeLedger(ledger);
      let stored = 0;
      let duplicates = 0;
      let newestTs: number | null = null;
      const before = maxSeq.get() as number;
      let seq = before;
      const ids = runs.batch();
      for (const record of records) {
        const key = record.routing_key;
        let keyId = keyIds.get(key) ?? newKeys.get(key);
        if (keyId === undefined) {
          insertKey.run(key);
          keyId = selectKey.get(key) as number;
          newKeys.set(key, keyId);
        }
        const placement = ids.place(record.id, seq + 1);
        if (placement === 'duplicate') {
          duplicates++;
          continue;
        }
        const ts = tsMs(record.ts);
        if (placement === 'run') {
          recordValues(held, heldRows++, record, null, ts, keyId, fieldsJson(record.fields));
          seq++;
          stored++;
          if (newestTs === null || ts > newestTs) newestTs = ts;
          if (heldRows === RUN_CHUNK) insertHeld(seq);
          continue;
        }
        insertHeld(seq);
        recordValues(one, 0, record, record.id, ts, keyId, fieldsJson(record.fields));
        const info = insertRecord.run(...one);
        if (info.changes === 0) {
          duplicates++;
          continue;
        }
        seq = Number(info.lastInsertRowid);
        stored++;
        if (newestTs === null || ts > newestTs) newestTs = ts;
      }
      insertHeld(seq);
      ids.end(seq);
      if (stored > 0) indexNew.run(before);
      return { stored, duplicates, lastSeq: seq, newestTs };
    },
  );

  return {
    write(records, ledger) {
      const newKeys = new Map<string, number>();
      const result = run(records, newKeys, ledger);
      for (const [key, id] of newKeys) keyIds.set(key, id);
      return result;
    },
  };
}
