import type { Logger } from 'pino';
import type { CollectorConfig } from '../config.js';
import type { Db } from './database.js';
import { openSqliteStore } from './sqlite-store.js';
import type { IngestStore } from './store.js';

/** The store the configuration names: PostgreSQL with --store, else the SQLite file of --db. */
export async function openStore(
  config: Pick<CollectorConfig, 'dbPath' | 'storeUrl' | 'checkpointIntervalMs' | 'connectionName'>,
  logger: Logger,
  db?: Db,
): Promise<IngestStore> {
  const onMigrate = (from: number, to: number): void =>
    logger.info(
      { from, to },
      'upgrading the store schema: it can take a minute or more on a large store (stopping it leaves the store as it was)',
    );
  if (config.storeUrl !== null && db === undefined) {
    // Loaded only for PostgreSQL: a SQLite collector never loads pg.
    const { openPgStore } = await import('./postgres/pg-store.js');
    return openPgStore(config.storeUrl, { onMigrate, applicationName: config.connectionName }, logger);
  }
  return openSqliteStore(config.dbPath, {
    onMigrate,
    checkpointIntervalMs: config.checkpointIntervalMs,
    ...(db === undefined ? {} : { db }),
  });
}
