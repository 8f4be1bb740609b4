import type { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../../../protocol/index.js';
import { STORED_CHANNEL } from './pg-store.js';

/** How long a lost LISTEN connection waits before it reconnects (the streams poll meanwhile). */
const RECONNECT_MS = 2_000;

/**
 * Every collector's commits, heard through LISTEN: each batch's transaction notifies STORED_CHANNEL,
 * so a live stream wakes for records another collector wrote as soon as for its own. Emits
 * 'stored' on `events`; a lost connection is reopened.
 */
export function listenForStored(
  url: string,
  events: EventEmitter,
  logger: Logger,
): { close(): Promise<void> } {
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const connect = (): void => {
    const next = new pg.Client({ connectionString: url, application_name: 'logcollect API (notices)' });
    client = next;
    const retry = (err: unknown): void => {
      if (closed) return;
      logger.warn(
        { err: errorMessage(err) },
        'lost the PostgreSQL notices connection; live streams poll until it is back',
      );
      next.removeAllListeners();
      next.end().catch(() => undefined);
      client = null;
      timer = setTimeout(connect, RECONNECT_MS);
      timer.unref();
    };
    next.on('error', retry);
    next.on('notification', (message) => {
      events.emit('stored', { lastSeq: Number(message.payload ?? 0) });
    });
    next
      .connect()
      .then(() => next.query(`LISTEN ${STORED_CHANNEL}`))
      .catch(retry);
  };
  connect();
  return {
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
