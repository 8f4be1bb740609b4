import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ErrorCodes, WarrenError, errorMessage } from '../../protocol/index.js';
import { startWorker } from '../../protocol/small-heap.js';
import { deserializeError } from '../store/read-protocol.js';
import type { CollectorStatus } from '../status.js';
import type { ApiThreadData, FromApiThread, ToApiThread } from './api-messages.js';

/**
 * The API thread's semi-spaces, MiB. An export holds two pages of 2,000 records across awaits:
 * with the ingest thread's 1 MiB they were promoted and collected by full GCs (export_records_per_s
 * 76-84k instead of 110-119k). Measured 2 / 4 / 6 / 8 MiB: 86k / 104-111k / 107-114k / 114-122k
 * records/s, for a collector peak RSS on the syslog burst of 134-138 / 139-145 / 144-151 / 145-152
 * MiB (issue 15's bound is 150).
 */
const API_SEMI_SPACE_MB = 4;

/** How often the API thread's status snapshot is refreshed (and on every stored batch). */
const STATUS_EVERY_MS = 250;

export interface ApiHostOptions extends Omit<ApiThreadData, 'status' | 'logLevel'> {
  readonly events: EventEmitter;
  readonly status: () => CollectorStatus;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface ApiHost {
  readonly url: string;
  close(): Promise<void>;
}

function threadScript(): string {
  const sibling = fileURLToPath(new URL('./api-thread.js', import.meta.url));
  // Run from the TypeScript sources (tests), the thread is the built one.
  return existsSync(sibling)
    ? sibling
    : fileURLToPath(new URL('../../dist/collector/http/api-thread.js', import.meta.url));
}

/**
 * Starts the HTTP API in its own thread (api-thread.ts) and keeps it fed: a status snapshot, the
 * 'stored' notices, this thread's metrics on request. Resolves once it listens; rejects with the
 * reason (a busy port is a usage error, exit 2) and leaves nothing running.
 */
export async function startApiThread(options: ApiHostOptions): Promise<ApiHost> {
  const { events, status, registry, logger, ...rest } = options;
  const data: ApiThreadData = { ...rest, logLevel: logger.level, status: status() };
  const worker = startWorker(() => new Worker(threadScript(), { workerData: data }), API_SEMI_SPACE_MB);
  const send = (message: ToApiThread): void => worker.postMessage(message);
  const onStored = ({ lastSeq }: { lastSeq: number }): void => {
    send({ type: 'status', status: status() });
    send({ type: 'stored', lastSeq });
  };
  const ticker = setInterval(() => send({ type: 'status', status: status() }), STATUS_EVERY_MS);
  ticker.unref();
  let closed: (() => void) | null = null;
  let exited = false;
  const url = await new Promise<string>((resolve, reject) => {
    worker.on('message', (message: FromApiThread) => {
      if (message.type === 'listening') resolve(message.url);
      else if (message.type === 'failed') {
        const err = deserializeError(message.error);
        reject(
          message.stage === 'listen'
            ? new WarrenError(
                ErrorCodes.BAD_USAGE,
                `cannot listen on ${options.listen.host}:${options.listen.port}: ${err.message}`,
                { cause: err, hint: 'is another logcollect running? pick another --listen HOST:PORT' },
              )
            : err,
        );
      } else if (message.type === 'metrics-wanted') {
        registry.metrics().then(
          (text) => send({ type: 'metrics', id: message.id, text }),
          () => send({ type: 'metrics', id: message.id, text: '' }),
        );
      } else closed?.();
    });
    worker.on('error', (err) => {
      logger.error({ err: errorMessage(err) }, 'the HTTP API thread failed');
      reject(err);
    });
    worker.on('exit', (code) => {
      exited = true;
      clearInterval(ticker);
      events.off('stored', onStored);
      closed?.();
      reject(new Error(`the HTTP API thread exited (${code}) before it listened`));
    });
  });
  events.on('stored', onStored);
  return {
    url,
    async close() {
      if (exited) return;
      await new Promise<void>((resolve) => {
        closed = resolve;
        send({ type: 'close' });
      });
      await worker.terminate();
    },
  };
}
