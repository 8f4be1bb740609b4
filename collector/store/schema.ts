/**
 * The store's schema, as ordered migrations: `user_version` says how many have run, so a newer
 * Warren opens an older store by running the rest in one transaction.
 *
 * records.seq is the insertion order (and the FTS rowid): it is the tiebreaker of every cursor and
 * what the live stream resumes from. Routing keys are few, so they live in their own table and
 * patterns are matched against them in code with RabbitMQ's exact semantics, then filtered by key_id.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE routing_keys (
    key_id      INTEGER PRIMARY KEY,
    routing_key TEXT NOT NULL UNIQUE
  );
  CREATE TABLE records (
    seq      INTEGER PRIMARY KEY,
    id       TEXT UNIQUE,
    ts       INTEGER NOT NULL,
    key_id   INTEGER NOT NULL REFERENCES routing_keys(key_id),
    facility TEXT NOT NULL,
    severity INTEGER NOT NULL,
    host     TEXT,
    app      TEXT,
    pid      INTEGER,
    msg      TEXT NOT NULL,
    fields   TEXT
  );
  CREATE INDEX records_ts ON records(ts, seq);
  CREATE INDEX records_key_ts ON records(key_id, ts, seq);
  CREATE INDEX records_host_ts ON records(host, ts, seq) WHERE host IS NOT NULL;
  CREATE VIRTUAL TABLE records_fts USING fts5(msg, content='records', content_rowid='seq', detail='none');
  `,
  // 2: the FTS index without its per-row size table (columnsize=0): nothing ranks by bm25, and
  // skipping that write per record makes ingest about a tenth cheaper. Rebuilt from the records.
  `
  DROP TABLE records_fts;
  CREATE VIRTUAL TABLE records_fts USING fts5(msg, content='records', content_rowid='seq', detail='none', columnsize=0);
  INSERT INTO records_fts (records_fts) VALUES ('rebuild');
  `,
  // 3: FTS5 settings for batch ingest, kept in records_fts_config. A 5,000-record batch overflowed
  // the default 1 MiB pending-terms hash into several segments per commit, and merging segments four
  // at a time rewrote every posting at each level: one segment per batch and merges of sixteen cost
  // a fifth less CPU per record (queries still take well under a millisecond per term).
  `
  INSERT INTO records_fts (records_fts, rank) VALUES ('hashsize', 8388608);
  INSERT INTO records_fts (records_fts, rank) VALUES ('automerge', 16);
  `,
  // 4: the binding keys the collector last bound its queue with: AMQP cannot list a queue's
  // bindings, so this is how a restart with fewer --bind patterns knows which ones to remove.
  `
  CREATE TABLE bindings (
    queue       TEXT NOT NULL,
    exchange    TEXT NOT NULL,
    binding_key TEXT NOT NULL,
    PRIMARY KEY (queue, exchange, binding_key)
  ) WITHOUT ROWID;
  `,
  // 5: digests of committed messages without record ids whose ack the broker may not have yet
  // (collector/ingest/redeliveries.ts): a redelivered copy of one is not stored twice.
  `
  CREATE TABLE unsettled_messages (
    batch  INTEGER NOT NULL,
    digest TEXT NOT NULL
  );
  `,
  // 6: runs of records whose ids are <message_id>:0, :1, … are stored without them, one row per run
  // (message-runs.ts): an index entry per message instead of one per record.
  `
  CREATE TABLE messages (
    first_seq  INTEGER PRIMARY KEY,
    last_seq   INTEGER NOT NULL,
    message_id TEXT NOT NULL UNIQUE
  );
  `,
  // 7: the time, key and host indexes without seq: every index entry already ends with the rowid,
  // which seq is, so they stored it twice. Same order and query plans, a store 5% smaller.
  `
  DROP INDEX records_ts;
  DROP INDEX records_key_ts;
  DROP INDEX records_host_ts;
  CREATE INDEX records_ts ON records(ts);
  CREATE INDEX records_key_ts ON records(key_id, ts);
  CREATE INDEX records_host_ts ON records(host, ts) WHERE host IS NOT NULL;
  `,
  // 8: record ids unique through a partial index (WHERE id IS NOT NULL) instead of the column's
  // UNIQUE, whose automatic index held an entry for every id-less record too: since v6 that is
  // nearly every record (runs keep their ids in messages). One index insert less per record: ~8%
  // less writer CPU and a 4% smaller store. SQLite cannot drop a column constraint, so the table
  // is copied (seq kept, so the FTS index still points at the same rows) and its indexes rebuilt.
  `
  CREATE TABLE records_v8 (
    seq      INTEGER PRIMARY KEY,
    id       TEXT,
    ts       INTEGER NOT NULL,
    key_id   INTEGER NOT NULL REFERENCES routing_keys(key_id),
    facility TEXT NOT NULL,
    severity INTEGER NOT NULL,
    host     TEXT,
    app      TEXT,
    pid      INTEGER,
    msg      TEXT NOT NULL,
    fields   TEXT
  );
  INSERT INTO records_v8 (seq, id, ts, key_id, facility, severity, host, app, pid, msg, fields)
    SELECT seq, id, ts, key_id, facility, severity, host, app, pid, msg, fields FROM records ORDER BY seq;
  DROP TABLE records;
  ALTER TABLE records_v8 RENAME TO records;
  CREATE UNIQUE INDEX records_id ON records(id) WHERE id IS NOT NULL;
  CREATE INDEX records_ts ON records(ts);
  CREATE INDEX records_key_ts ON records(key_id, ts);
  CREATE INDEX records_host_ts ON records(host, ts) WHERE host IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
