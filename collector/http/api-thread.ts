/**
 * The HTTP API's own thread (api-host.ts starts it): the ingest thread's synchronous commits
 * (decode, insert, fsync: 50–250 ms a batch at full speed) would otherwise hold every request,
 * the probes too, for as long. Here the API answers from a status snapshot the ingest thread
 * posts, streams on its 'stored' notices, and reads through the reader processes (read-pool.ts).
 */
import { EventEmitter } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { Registry } from 'prom-client';
import { serializeError } from '../store/read-protocol.js';
import type { CollectorStatus } from '../status.js';
import { buildApi } from './app.js';
import type { ApiThreadData, FromApiThread, ToApiThread } from './api-messages.js';

const port = parentPort;
const data = workerData as ApiThreadData;
if (port === null) throw new Error('api-thread runs as a worker thread');

const logger = pino({ name: 'logcollect', level: data.logLevel }, pino.destination(2));
const events = new EventEmitter();
events.setMaxListeners(0);
let status: CollectorStatus = data.status;
let nextMetrics = 1;
const metricsWaiting = new Map<number, (text: string) => void>();

const send = (message: FromApiThread): void => port.postMessage(message);

async function main(): Promise<void> {
  const app = await buildApi({
    dbPath: data.dbPath,
    storeUrl: data.storeUrl,
    events,
    status: () => status,
    registry: new Registry(),
    moreMetrics: () =>
      new Promise((resolve) => {
        const id = nextMetrics++;
        metricsWaiting.set(id, resolve);
        send({ type: 'metrics-wanted', id });
      }),
    logger,
    token: data.token,
    allowedHosts: data.allowedHosts,
    reads: data.reads,
  });
  port?.on('message', (message: ToApiThread) => {
    if (message.type === 'status') status = message.status;
    else if (message.type === 'stored') events.emit('stored', { lastSeq: message.lastSeq });
    else if (message.type === 'metrics') {
      metricsWaiting.get(message.id)?.(message.text);
      metricsWaiting.delete(message.id);
    } else {
      void app.close().finally(() => {
        send({ type: 'closed' });
        port?.close();
      });
    }
  });
  // fastify's own "Server listening" line would come before a failed start's one-line reason.
  const level = app.log.level;
  app.log.level = 'warn';
  try {
    const url = await app.listen({ host: data.listen.host, port: data.listen.port });
    send({ type: 'listening', url });
  } catch (err) {
    await app.close();
    send({ type: 'failed', stage: 'listen', error: serializeError(err) });
    port?.close();
  } finally {
    app.log.level = level;
  }
}

main().catch((err: unknown) => {
  send({ type: 'failed', stage: 'start', error: serializeError(err) });
  port.close();
});
