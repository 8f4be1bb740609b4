import { createHash, randomBytes } from 'node:crypto';

/**
 * Redeliveries of messages whose records carry no id (plain pika, syslog-ng: no `message_id`, no
 * `id` in the body), which the store's UNIQUE id cannot catch (issue 14 item 6).
 *
 * A message comes back `redelivered` when its session ended before the broker had its ack. If the
 * collector had committed it, storing it again doubles it; if not, skipping it loses it; and two
 * identical messages that were NOT redelivered are two records. So each committed id-less message
 * leaves its digest here, in the batch's own transaction, until the broker is known to have its
 * ack: a round trip on the same channel after the ack (the broker answers in order), or a clean
 * channel close. A redelivered id-less message is skipped only against such an unsettled digest of
 * an earlier session, and each digest excuses one copy. The copy skipped is itself acked later: its
 * digest stays, as this session's, until that ack is known too, so a collector killed after skipping
 * it (before its ack reached the broker) still excuses the next copy. The doubt lasts DOUBT_MS from the session
 * that inherits it: the broker requeues a dead session's messages as soon as it sees it gone, but
 * not always before the next session's first new deliveries (seen under load), so "the first new
 * delivery ends it" would store late redeliveries twice.
 *
 * What remains is two generals' ambiguity: an ack sent in the instant the session died, and an
 * identical copy delivered but not yet committed at that instant; only an id removes it (CONTRACT §4).
 */

/** A message the committer is about to store or skip, as far as redeliveries matter. */
export interface LedgerMessage {
  readonly redelivered: boolean;
  /** Null when the message is not id-less (its records dedupe by id). */
  readonly digest: string | null;
}

/** One unsettled digest as the store keeps it (table unsettled_messages). */
export interface LedgerRow {
  readonly id: number;
  readonly batch: number;
  readonly digest: string;
}

/** The rows a batch's transaction adds to and removes from the store's ledger table. */
export interface LedgerChanges {
  readonly remove: readonly number[];
  readonly add: readonly LedgerRow[];
  /** Rows of copies skipped now: this collector answers for them until their ack is known. */
  readonly claim: readonly number[];
}

/** What a batch decided, applied only once its transaction commits. */
export interface LedgerPlan {
  /** Per message of the batch, in order: store its records (true) or skip them as a redelivery. */
  readonly keep: readonly boolean[];
  /** True when the batch must write even if it stores no record (entries to add or remove). */
  readonly writes: boolean;
  /** What the batch's write transaction does to the ledger table, with the records. */
  readonly changes: LedgerChanges;
  /** After the commit: the number to settle once the broker has the batch's ack (null: nothing to settle). */
  readonly committed: () => number | null;
}

export interface RedeliveryLedger {
  /**
   * The digests of redelivered id-less messages this ledger holds no doubt for: with several
   * collectors on one store, another one may have committed them (look them up, then `adopt`).
   */
  unknown(messages: readonly LedgerMessage[]): string[];
  /** Rows of the store's table found for `unknown` digests: doubts of an earlier session now. */
  adopt(rows: readonly LedgerRow[]): void;
  /** Decides, for one batch of one session, which id-less redelivered messages are doubles. */
  plan(session: object, messages: readonly LedgerMessage[]): LedgerPlan;
  /** The broker has the acks of this batch and every earlier one of its session. */
  settled(batch: number): void;
  /**
   * The settled entries' rows, to remove now (at shutdown; otherwise they ride on the next batch);
   * forgotten here once taken.
   */
  flush(): number[];
  /** Digests of earlier sessions still excusing a redelivery (for tests and the log). */
  readonly doubtful: number;
}

/** The digest of an id-less message: its routing key, content type and body. */
export function messageDigest(routingKey: string, contentType: string | undefined, body: Buffer): string {
  return createHash('sha256')
    .update(routingKey)
    .update('\0')
    .update(contentType ?? '')
    .update('\0')
    .update(body)
    .digest('base64');
}

interface Entry {
  readonly id: number;
  readonly digest: string;
  readonly batch: number;
  /** When a doubtful entry stops excusing redeliveries (ms); unset while its own session runs. */
  expires?: number;
}

/** How long an earlier session's unsettled digests excuse redeliveries, from the next session's start. */
export const DOUBT_MS = 120_000;

/**
 * A row id no other collector sharing the store will pick: random, within JavaScript's safe
 * integers, so a row can be named before its transaction runs (the plan is data, any store applies it).
 */
function newRowId(): number {
  return Number(randomBytes(8).readBigUInt64BE() >> 11n);
}

/** `rows`: what the store's ledger table holds at start (left by earlier runs). */
export function createRedeliveryLedger(
  rows: readonly LedgerRow[],
  clock: () => number = Date.now,
): RedeliveryLedger {
  // Entries of earlier sessions (and earlier processes) that may excuse a redelivery, by digest.
  const doubtful = new Map<string, Entry[]>();
  // Entries of the current session, waiting for their batch's ack to be known.
  const pending: Entry[] = [];
  const toRemove: number[] = [];
  let session: object | null = null;
  let nextBatch = 1;
  for (const row of rows) {
    addDoubt({ id: row.id, digest: row.digest, batch: row.batch });
    nextBatch = Math.max(nextBatch, row.batch + 1);
  }

  function addDoubt(entry: Entry): void {
    entry.expires = clock() + DOUBT_MS;
    const list = doubtful.get(entry.digest);
    if (list === undefined) doubtful.set(entry.digest, [entry]);
    else list.push(entry);
  }

  /** A new session: what the old one left unsettled may come back redelivered. */
  function enter(owner: object): void {
    if (owner === session) return;
    session = owner;
    for (const entry of pending.splice(0)) addDoubt(entry);
  }

  /** Doubts past their time excuse nothing more; their rows go with the next batch. */
  function expire(): void {
    const now = clock();
    for (const [digest, list] of doubtful) {
      const live = list.filter((entry) => (entry.expires ?? Infinity) > now);
      if (live.length === list.length) continue;
      for (const entry of list) if (!live.includes(entry)) toRemove.push(entry.id);
      if (live.length === 0) doubtful.delete(digest);
      else doubtful.set(digest, live);
    }
  }

  /** Rows this ledger already holds, as a doubt or as its own session's. */
  const held = (): Set<number> => {
    const ids = new Set<number>([...pending.map((entry) => entry.id), ...toRemove]);
    for (const list of doubtful.values()) for (const entry of list) ids.add(entry.id);
    return ids;
  };

  return {
    unknown(messages) {
      const out = new Set<string>();
      for (const message of messages) {
        if (message.redelivered && message.digest !== null && !doubtful.has(message.digest))
          out.add(message.digest);
      }
      return [...out];
    },

    adopt(rows) {
      if (rows.length === 0) return;
      const ids = held();
      for (const row of rows)
        if (!ids.has(row.id)) addDoubt({ id: row.id, digest: row.digest, batch: row.batch });
    },

    plan(owner, messages) {
      enter(owner);
      if (doubtful.size > 0) expire();
      const keep: boolean[] = [];
      const excused: Entry[] = [];
      const remembered: string[] = [];
      const claimed = new Map<string, number>();
      for (const message of messages) {
        if (message.digest === null) {
          keep.push(true);
          continue;
        }
        const used = claimed.get(message.digest) ?? 0;
        const entry = message.redelivered ? doubtful.get(message.digest)?.[used] : undefined;
        if (entry !== undefined) {
          claimed.set(message.digest, used + 1);
          excused.push(entry);
          keep.push(false);
        } else {
          remembered.push(message.digest);
          keep.push(true);
        }
      }
      const batch = nextBatch;
      const inserted: Entry[] = remembered.map((digest) => ({ id: newRowId(), digest, batch }));
      // Settles that arrive after this plan ride on the next one.
      const written = toRemove.slice();
      return {
        keep,
        writes: written.length > 0 || inserted.length > 0 || excused.length > 0,
        changes: {
          // An excused digest's row stays: the skipped copy's ack is not known yet either.
          remove: written,
          add: inserted.map(({ id, digest }) => ({ id, batch, digest })),
          claim: excused.map((entry) => entry.id),
        },
        committed() {
          const done = new Set(written);
          toRemove.splice(0, toRemove.length, ...toRemove.filter((id) => !done.has(id)));
          for (const entry of excused) {
            const list = doubtful.get(entry.digest) ?? [];
            list.splice(list.indexOf(entry), 1);
            if (list.length === 0) doubtful.delete(entry.digest);
          }
          // The copies skipped wait for this batch's ack as the digests it stored do.
          pending.push(...inserted, ...excused.map(({ id, digest }) => ({ id, digest, batch })));
          if (inserted.length === 0 && excused.length === 0) return null;
          nextBatch++;
          return batch;
        },
      };
    },

    settled(batch) {
      while (pending.length > 0 && (pending[0]?.batch ?? Infinity) <= batch) {
        const entry = pending.shift();
        if (entry !== undefined) toRemove.push(entry.id);
      }
    },

    flush() {
      return toRemove.splice(0);
    },

    get doubtful() {
      let count = 0;
      for (const list of doubtful.values()) count += list.length;
      return count;
    },
  };
}
