import pg from 'pg';
import { SEVERITIES, severityRank } from '../../protocol/index.js';
import { createPartitions, DAY_MS } from '../../collector/store/postgres/schema.js';
import { progress } from './progress.js';
import { RARE_WORD, syntheticFacilities, SYNTHETIC_WORDS, SYNTHETIC_STATUSES } from './synthetic-store.js';

/**
 * The query bench's store on PostgreSQL: the same shape as synthetic-store.ts's (40 facilities,
 * every severity, 50 hosts, six words of the same vocabulary, the rare word, HTTP fields on half),
 * generated inside PostgreSQL by INSERT … SELECT from generate_series: the writer's 17k records/s
 * would take five minutes for 5 million. Words are lowercase ASCII, so array_to_tsvector of the
 * message split at spaces is exactly what the writer indexes.
 */
export async function generatePgQueryStore(url: string, count: number, now: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const facilities = syntheticFacilities(40);
    const keys: { id: number; facility: string; rank: number }[] = [];
    for (const facility of facilities) {
      for (const severity of SEVERITIES) {
        const row = await client.query<{ key_id: number }>(
          `INSERT INTO routing_keys (routing_key) VALUES ($1)
           ON CONFLICT (routing_key) DO UPDATE SET routing_key = EXCLUDED.routing_key RETURNING key_id`,
          [`${facility}.${severity}`],
        );
        keys.push({ id: row.rows[0]?.key_id ?? 0, facility, rank: severityRank(severity) });
      }
    }
    const start = now - 7 * DAY_MS;
    const firstDay = Math.floor(start / DAY_MS) * DAY_MS;
    await createPartitions(
      client,
      Array.from({ length: 9 }, (_, i) => firstDay + i * DAY_MS),
    );
    const rareEvery = Math.min(200_000, Math.floor(count / 25));
    const CHUNK = 250_000;
    const began = Date.now();
    for (let lo = 1; lo <= count; lo += CHUNK) {
      const hi = Math.min(count, lo + CHUNK - 1);
      await client.query(
        `INSERT INTO records (seq, id, ts, key_id, facility, severity, host, app, pid, msg, fields, words)
         SELECT g, 'syn:' || g, ts, ($5::int[])[k], ($6::text[])[k], ($7::smallint[])[k], host, 'synthetic',
                1000 + g % 100, msg, fields, array_to_tsvector(string_to_array(msg, ' '))
         FROM (
           SELECT g,
                  ($3::bigint + ((7 * 86400000)::float8 * (g - 1 + random()) / $4))::bigint AS ts,
                  1 + floor(random() * cardinality($5::int[]))::int AS k,
                  'web-' || lpad(floor(random() * 50)::text, 2, '0') AS host,
                  array_to_string(ARRAY(SELECT ($8::text[])[1 + floor(random() * cardinality($8::text[]))::int]
                                        FROM generate_series(1, 6) WHERE g > 0), ' ')
                    || CASE WHEN g % $9 = $9 - 1 THEN ' ${RARE_WORD}' ELSE '' END || ' n' || g AS msg,
                  CASE WHEN g % 2 = 0 THEN jsonb_build_object(
                         'status', ($10::int[])[1 + floor(random() * cardinality($10::int[]))::int],
                         'duration_ms', floor(random() * 2000)::int)
                       WHEN g % 10 = 1 THEN jsonb_build_object('n', g) END AS fields
           FROM generate_series($1::bigint, $2::bigint) g
         ) s`,
        [
          lo,
          hi,
          start,
          count,
          keys.map((k) => k.id),
          keys.map((k) => k.facility),
          keys.map((k) => k.rank),
          SYNTHETIC_WORDS,
          rareEvery,
          SYNTHETIC_STATUSES,
        ],
      );
      progress(
        `postgres query store: ${hi.toLocaleString('en-US')} of ${count.toLocaleString('en-US')} records (${Math.round(hi / Math.max(0.001, (Date.now() - began) / 1000))}/s)`,
      );
    }
    await client.query("SELECT setval('records_seq', $1)", [count]);
    await client.query('INSERT INTO seq_blocks (xid, hi) VALUES (pg_current_xact_id(), $1)', [count]);
    await client.query('ANALYZE records');
  } finally {
    await client.end();
  }
}
