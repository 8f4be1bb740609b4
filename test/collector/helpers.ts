import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import type { ChannelModel, Options } from 'amqplib';
import pino, { type Logger } from 'pino';
import { resolveCollectorConfig, type CollectorConfig, type CollectorFlags } from '../../collector/config.js';
import { AMQP_URL, deleteTopology, openConnection, uniqueName } from '../support/broker.js';

/** A pino logger whose lines the test can read back as objects (STYLE 5). */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

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
  const exchange = uniqueName(area);
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
      await deleteTopology(connection, exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
      remove();
    },
  };
}

export interface Published {
  key: string;
  body: Buffer | string;
  options?: Options.Publish;
}

/** Publishes persistent messages on a confirm channel and waits for the broker's confirms. */
export async function publish(
  connection: ChannelModel,
  exchange: string,
  messages: readonly Published[],
): Promise<void> {
  const channel = await connection.createConfirmChannel();
  try {
    for (const message of messages) {
      const body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
      const ok = channel.publish(exchange, message.key, body, { persistent: true, ...message.options });
      if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
    }
    await channel.waitForConfirms();
  } finally {
    await channel.close();
  }
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
    return db.prepare('SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM records').get() as {
      rows: number;
      ids: number;
    };
  } finally {
    db.close();
  }
}

/** Messages in a queue: ready only (checkQueue), so after a collector closes it shows what was never acked. */
export async function queueDepth(connection: ChannelModel, queue: string): Promise<number> {
  const channel = await connection.createChannel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

export { uniqueName };
