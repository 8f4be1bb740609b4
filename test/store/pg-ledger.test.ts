import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../protocol/index.js';
import {
  createRedeliveryLedger,
  messageDigest,
  type LedgerMessage,
  type RedeliveryLedger,
} from '../../collector/ingest/redeliveries.js';
import { openPgStore } from '../../collector/store/postgres/pg-store.js';
import type { IngestStore } from '../../collector/store/store.js';
import { createPgSchema, type TestSchema } from '../../testkit/postgres.js';
import { waitUntil } from '../../testkit/wait.js';

/**
 * Several collectors on one PostgreSQL store: an id-less message one collector committed before it
 * died comes back redelivered to another, whose ledger never saw it. The other adopts the dead
 * collector's digest and skips the copy; a live collector's digests are left alone (one of them
 * may stand for an identical message it is acking right now: skipping would lose a record).
 */

const silent = pino({ level: 'silent' });
const body = 'the same line, no id';
const digest = messageDigest('app.info', undefined, Buffer.from(body));
const record: StoredRecord = {
  id: null,
  ts: new Date().toISOString(),
  facility: 'app',
  severity: 'info',
  msg: body,
  routing_key: 'app.info',
};

/** What the committer does for one batch of one message: look up unknown digests, plan, write. */
async function commit(
  store: IngestStore,
  ledger: RedeliveryLedger,
  session: object,
  message: LedgerMessage,
): Promise<boolean> {
  ledger.adopt(await store.ledgerRowsFor(ledger.unknown([message])));
  const plan = ledger.plan(session, [message]);
  await store.write(plan.keep[0] === true ? [record] : [], plan.writes ? plan.changes : undefined);
  plan.committed();
  return plan.keep[0] === true;
}

describe('the redelivery ledger across collectors on PostgreSQL', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await createPgSchema('ledger');
  });
  afterAll(async () => {
    await schema.drop();
  });

  it("skips a copy the collector that died had committed, and leaves a live collector's digests alone", async () => {
    const a = await openPgStore(schema.url, { applicationName: 'logcollect@a:1' }, silent);
    const b = await openPgStore(schema.url, { applicationName: 'logcollect@b:2' }, silent);
    try {
      const ledgerA = createRedeliveryLedger(await a.ledgerRows());
      const ledgerB = createRedeliveryLedger(await b.ledgerRows());
      expect(await commit(a, ledgerA, {}, { redelivered: false, digest })).toBe(true);
      // A is alive: B stores the redelivered copy (a double at worst, never a loss).
      expect(await commit(b, ledgerB, {}, { redelivered: true, digest })).toBe(true);
      // A dies (its connections go); its copy comes back again, to B.
      await a.close(silent);
      await waitUntil(
        'A gone from pg_stat_activity',
        async () => (await b.ledgerRowsFor([digest])).length > 0,
        5_000,
      );
      expect(await commit(b, ledgerB, {}, { redelivered: true, digest })).toBe(false);
      // Only one copy is excused per digest A left.
      expect(await commit(b, createRedeliveryLedger([]), {}, { redelivered: true, digest })).toBe(true);
    } finally {
      await b.close(silent);
    }
  });
});
