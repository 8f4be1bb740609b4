import path from 'node:path';
import Database from 'better-sqlite3';
import type { ChannelModel } from 'amqplib';
import { resolveCollectorConfig, type CollectorConfig, type CollectorFlags } from '../../collector/config.js';
import {
  AMQP_URL,
  deleteTopology,
  openConnection,
  uniqueName,
  type Published,
} from '../../testkit/broker.js';
import { tempDir } from '../../testkit/temp.js';
import { RECORD_ID_SQL } from '../../collector/store/message-runs.js';

/** One test's own exchange, store and config; `cleanup` deletes what it declared and its files. */
export interface Fixture {
  exchange: string;
  dbPath: string;
  dir: string;
  connectionName: string;
  config: (flags?: CollectorFlags) => CollectorConfig;
  connection: ChannelModel;
  cleanup: () => Promise<void>;
}

/** `logcollect` flags for this fixture's broker, exchange and store, on a free port; `extra` follow. */
export function collectorArgs(f: Pick<Fixture, 'exchange' | 'dbPath'>, ...extra: string[]): string[] {
  return [
    '--amqp',
    AMQP_URL,
    '--exchange',
    f.exchange,
    '--db',
    f.dbPath,
    '--listen',
    '127.0.0.1:0',
    ...extra,
  ];
}

export async function fixture(area: string): Promise<Fixture> {
  const exchange = uniqueName(`test-${area}`);
  const { dir, remove } = tempDir();
  const dbPath = path.join(dir, 'warren.db');
  const connectionName = `${exchange}-collector`;
  const connection = await openConnection(`${exchange}-test`);
  return {
    exchange,
    dbPath,
    dir,
    connectionName,
    connection,
    config: (flags = {}) =>
      resolveCollectorConfig(
        {
          amqp: AMQP_URL,
          exchange,
          db: dbPath,
          listen: false,
          connectionName,
          lingerMs: 20,
          pollMs: 200,
          ...flags,
        },
        {},
      ),
    cleanup: async () => {
      await deleteTopology(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
      remove();
    },
  };
}

/** NDJSON messages of `perMessage` records with ids `${prefix}:${n}`, n from 0. */
export function ndjsonMessages(
  prefix: string,
  count: number,
  perMessage: number,
  key = 'app.info',
): Published[] {
  const messages: Published[] = [];
  for (let start = 0; start < count; start += perMessage) {
    const lines: string[] = [];
    for (let n = start; n < Math.min(count, start + perMessage); n++) {
      lines.push(
        JSON.stringify({
          id: `${prefix}:${n}`,
          ts: new Date().toISOString(),
          host: 'web-01',
          msg: `record ${n}`,
        }),
      );
    }
    messages.push({
      key,
      body: lines.join('\n') + '\n',
      options: { contentType: 'application/x-ndjson', messageId: `${prefix}-m${start}` },
    });
  }
  return messages;
}

/** Opens the store read-only, as the HTTP API does, for assertions. */
export function readStore(dbPath: string): Database.Database {
  return new Database(dbPath, { readonly: true, fileMustExist: true });
}

export function countRows(dbPath: string): { rows: number; ids: number } {
  const db = readStore(dbPath);
  try {
    return db
      .prepare(`SELECT count(*) AS rows, count(DISTINCT ${RECORD_ID_SQL}) AS ids FROM records r`)
      .get() as {
      rows: number;
      ids: number;
    };
  } finally {
    db.close();
  }
}
