import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createRedeliveryLedger,
  DOUBT_MS,
  messageDigest,
  type LedgerMessage,
  type RedeliveryLedger,
} from '../../collector/ingest/redeliveries.js';
import { openDatabase, type Db } from '../../collector/store/database.js';
import { ledgerWriter } from '../../collector/store/writer.js';
import { tempDir } from '../../testkit/temp.js';

const d = (body: string): string => messageDigest('app.info', undefined, Buffer.from(body));
const fresh = (body: string): LedgerMessage => ({ redelivered: false, digest: d(body) });
const again = (body: string): LedgerMessage => ({ redelivered: true, digest: d(body) });

/** Plans and commits one batch as the committer does; returns the keep flags and the batch to settle. */
function commit(
  db: Db,
  ledger: RedeliveryLedger,
  session: object,
  messages: LedgerMessage[],
): { keep: readonly boolean[]; settle: number | null } {
  const plan = ledger.plan(session, messages);
  db.transaction(() => ledgerWriter(db)(plan.changes))();
  return { keep: plan.keep, settle: plan.committed() };
}

/** The ledger of a store, from the rows its table holds (as the collector opens it). */
const ledgerOf = (db: Db, clock?: () => number): RedeliveryLedger =>
  createRedeliveryLedger(
    db.prepare('SELECT rowid AS id, batch, digest FROM unsettled_messages ORDER BY rowid').all() as {
      id: number;
      batch: number;
      digest: string;
    }[],
    clock,
  );

const rows = (db: Db): number =>
  db.prepare('SELECT count(*) FROM unsettled_messages').pluck().get() as number;

describe('redelivery ledger', () => {
  it('never skips a message that was not redelivered: two identical lines are two records', () => {
    const db = openDatabase(':memory:');
    const ledger = ledgerOf(db);
    const a = {};
    expect(commit(db, ledger, a, [fresh('same'), fresh('same')]).keep).toEqual([true, true]);
    // A new session, the same text sent again (not redelivered): stored again.
    expect(commit(db, ledger, {}, [fresh('same')]).keep).toEqual([true]);
  });

  it('skips a redelivered copy of a message committed in an earlier session whose ack is not known, once per commit', () => {
    const db = openDatabase(':memory:');
    const ledger = ledgerOf(db);
    commit(db, ledger, {}, [fresh('x'), fresh('y')]);
    // The session died before the ack was known; x comes back twice (only one was ever committed).
    expect(commit(db, ledger, {}, [again('x'), again('x'), again('z')]).keep).toEqual([false, true, true]);
  });

  it('keeps excusing a copy whose skip was never known acked (a collector killed again right after skipping it)', () => {
    const db = openDatabase(':memory:');
    commit(db, ledgerOf(db), {}, [fresh('x')]);
    // The next collector skips the redelivered copy, commits, and is killed before its ack lands.
    const second = ledgerOf(db);
    const skipped = commit(db, second, {}, [again('x')]);
    expect(skipped.keep).toEqual([false]);
    expect(skipped.settle).not.toBeNull();
    expect(rows(db)).toBe(1);
    // So x comes back once more: the third collector must skip it too.
    const third = ledgerOf(db);
    expect(commit(db, third, {}, [again('x')]).keep).toEqual([false]);
  });

  it('forgets a skipped copy once the ack of the batch that skipped it is known', () => {
    const db = openDatabase(':memory:');
    commit(db, ledgerOf(db), {}, [fresh('x')]);
    const second = ledgerOf(db);
    const session = {};
    const { settle } = commit(db, second, session, [again('x')]);
    second.settled(settle ?? 0);
    // The removal rides on the session's next batch (or its flush at shutdown).
    commit(db, second, session, []);
    expect(rows(db)).toBe(0);
    expect(commit(db, ledgerOf(db), {}, [again('x')]).keep).toEqual([true]);
  });

  it('stores a redelivered message once its earlier copy is known acked', () => {
    const db = openDatabase(':memory:');
    const ledger = ledgerOf(db);
    const { settle } = commit(db, ledger, {}, [fresh('x')]);
    expect(settle).not.toBeNull();
    ledger.settled(settle ?? 0);
    expect(commit(db, ledger, {}, [again('x')]).keep).toEqual([true]);
  });

  it('keeps the doubt past new deliveries (late requeues) until DOUBT_MS after the next session began', () => {
    const db = openDatabase(':memory:');
    let now = 1_000_000;
    const ledger = ledgerOf(db, () => now);
    commit(db, ledger, {}, [fresh('x'), fresh('x')]);
    const b = {};
    // The broker requeued the dead session's messages behind a new one: both copies still excused.
    expect(commit(db, ledger, b, [fresh('new'), again('x'), again('x')]).keep).toEqual([true, false, false]);
    commit(db, ledger, {}, [fresh('y')]);
    now += DOUBT_MS - 1;
    const c = {};
    expect(commit(db, ledger, c, [again('y')]).keep).toEqual([false]);
    commit(db, ledger, {}, [fresh('z')]);
    const d = {};
    commit(db, ledger, d, []);
    now += DOUBT_MS + 1;
    expect(commit(db, ledger, d, [again('z')]).keep).toEqual([true]);
    expect(ledger.doubtful).toBe(0);
  });

  it('ignores messages with record ids, and keeps its table small as acks settle', () => {
    const db = openDatabase(':memory:');
    const ledger = ledgerOf(db);
    const session = {};
    let last = commit(db, ledger, session, [{ redelivered: false, digest: null }]);
    expect(last.settle).toBeNull();
    for (let i = 0; i < 5; i++) {
      last = commit(db, ledger, session, [fresh(`m${i}`)]);
      ledger.settled(last.settle ?? 0);
    }
    const remove = db.prepare('DELETE FROM unsettled_messages WHERE rowid = ?');
    for (const id of ledger.flush()) remove.run(id);
    expect(rows(db)).toBe(0);
    expect(ledger.flush()).toEqual([]);
  });

  it('remembers unsettled digests across a restart (a collector SIGKILLed after its commit)', () => {
    const { dir, remove } = tempDir('ledger');
    try {
      const file = path.join(dir, 'warren.db');
      const first = openDatabase(file);
      commit(first, ledgerOf(first), {}, [fresh('x')]);
      first.close();
      const second = openDatabase(file);
      const ledger = ledgerOf(second);
      expect(ledger.doubtful).toBe(1);
      expect(commit(second, ledger, {}, [again('x'), again('x')]).keep).toEqual([false, true]);
      second.close();
    } finally {
      remove();
    }
  });

  it('changes nothing when the batch transaction rolls back', () => {
    const db = openDatabase(':memory:');
    const ledger = ledgerOf(db);
    commit(db, ledger, {}, [fresh('x')]);
    const plan = ledger.plan({}, [again('x')]);
    expect(() =>
      db.transaction(() => {
        ledgerWriter(db)(plan.changes);
        throw new Error('disk full');
      })(),
    ).toThrow('disk full');
    expect(rows(db)).toBe(1);
    expect(ledger.doubtful).toBe(1);
  });
});
