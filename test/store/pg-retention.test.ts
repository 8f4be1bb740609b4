import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../protocol/index.js';
import { parseRetentionRule } from '../../collector/config.js';
import { openPgStore } from '../../collector/store/postgres/pg-store.js';
import type { IngestStore } from '../../collector/store/store.js';
import { createPgSchema, type TestSchema } from '../../testkit/postgres.js';

/**
 * Retention on PostgreSQL (CONTRACT §5): a day whose every key has expired is dropped whole; a day
 * where a rule covers only some keys loses those rows only; keys no rule matches are kept.
 */

const silent = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 12);

const record = (key: string, ts: number, n: number): StoredRecord => {
  const [facility = 'app', severity = 'info'] = key.split('.');
  return {
    id: `${key}-${ts}-${n}`,
    ts: new Date(ts).toISOString(),
    facility,
    severity: severity as StoredRecord['severity'],
    msg: `record ${n}`,
    routing_key: key,
  };
};

describe('retention on the PostgreSQL store', () => {
  let schema: TestSchema;
  let store: IngestStore;
  let client: pg.Client;

  beforeAll(async () => {
    schema = await createPgSchema('retention');
    store = await openPgStore(schema.url, { applicationName: 'retention test' }, silent);
    client = new pg.Client({ connectionString: schema.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await store.close(silent);
    await schema.drop();
  });

  const count = async (where: string): Promise<number> =>
    Number(
      (await client.query<{ n: string }>(`SELECT count(*) AS n FROM records WHERE ${where}`)).rows[0]?.n,
    );
  const days = async (): Promise<string[]> =>
    (
      await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'records'::regclass ORDER BY 1`,
      )
    ).rows.map((row) => row.name);

  it('drops wholly expired days, deletes only the expired keys of the others, keeps unmatched keys', async () => {
    const records: StoredRecord[] = [];
    // Ten days ago: only debug records (expire after 1 day): the whole day can go.
    for (let i = 0; i < 50; i++) records.push(record('app.debug', NOW - 10 * DAY + i * 1000, i));
    // Five days ago: debug (expired) beside kern.critical (no rule: kept for ever).
    for (let i = 0; i < 30; i++) records.push(record('app.debug', NOW - 5 * DAY + i * 1000, i));
    for (let i = 0; i < 20; i++) records.push(record('kern.critical', NOW - 5 * DAY + i * 1000, i));
    // An hour ago: debug, not expired yet.
    for (let i = 0; i < 10; i++) records.push(record('app.debug', NOW - 3_600_000 + i * 1000, i));
    await store.write(records);
    const tenDaysAgo = `records_${new Date(NOW - 10 * DAY).toISOString().slice(0, 10).replace(/-/g, '')}`;
    expect(await days()).toContain(tenDaysAgo);

    const retention = store.retention([parseRetentionRule('*.debug=1d')], () => NOW);
    let deleted = 0;
    for (let pass = 0; pass < 10; pass++) {
      const result = await retention.runPass(50);
      deleted += result.deleted;
      if (!result.more) break;
    }
    expect(deleted).toBe(80);
    expect(await days()).not.toContain(tenDaysAgo);
    expect(await count(`key_id = (SELECT key_id FROM routing_keys WHERE routing_key = 'app.debug')`)).toBe(
      10,
    );
    expect(
      await count(`key_id = (SELECT key_id FROM routing_keys WHERE routing_key = 'kern.critical')`),
    ).toBe(20);
    // The store still takes records for the day it dropped (a late arrival): the day comes back.
    await store.write([record('kern.critical', NOW - 10 * DAY, 999)]);
    expect(await count('true')).toBe(31);
  });
});
