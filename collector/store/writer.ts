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

/**
 * Prepared statements, one transaction per batch. Routing keys are few: their ids are cached, and a
 * key first seen in a batch enters the cache only once that batch commits (a rollback forgets it).
 * Records whose ids run `P:0`, `P:1`, … are stored as a run without them (message-runs.ts).
 */
export function createBatchWriter(db: Db): BatchWriter {
  const insertRecord = db.prepare(
    `INSERT OR IGNORE INTO records (id, ts, key_id, facility, severity, host, app, pid, msg, fields)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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

  const run = db.transaction(
    (
      records: Iterable<StoredRecord>,
      newKeys: Map<string, number>,
      ledger: LedgerChanges | undefined,
    ): WriteResult => {
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
        const info = insertRecord.run(
          placement === 'run' ? null : record.id,
          ts,
          keyId,
          record.facility,
          severityRank(record.severity),
          record.host ?? null,
          record.app ?? null,
          record.pid ?? null,
          record.msg,
          record.fields === undefined ? null : JSON.stringify(record.fields),
        );
        if (info.changes === 0) {
          duplicates++;
          continue;
        }
        seq = Number(info.lastInsertRowid);
        stored++;
        if (newestTs === null || ts > newestTs) newestTs = ts;
      }
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
