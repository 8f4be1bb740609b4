import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connectBroker, errorMessage } from '../protocol/index.js';
import type { CollectorConfig } from './config.js';
import { createConsumer, type Consumer } from './ingest/consumer.js';
import { createRedeliveryLedger, type RedeliveryLedger } from './ingest/redeliveries.js';
import { startApiThread, type ApiHost } from './http/api-host.js';
import { allowedHosts } from './http/hosts.js';
import { createMetrics, RateMeter, type CollectorMetrics } from './metrics.js';
import type { CollectorStatus } from './status.js';
import type { Db } from './store/database.js';
import { bindingChange } from './store/bindings.js';
import { openStore } from './store/open.js';
import { startRetention } from './store/retention.js';
import type { IngestStore } from './store/store.js';

export interface CollectorDeps {
  readonly logger: Logger;
  /** The clock (ms since the epoch), for retention, lag and rates. */
  readonly now?: () => number;
  readonly registry?: Registry;
  /** An already opened SQLite database (tests use it to make the disk "full"); otherwise the configured store is opened. */
  readonly db?: Db;
}

export interface Collector {
  start(): Promise<void>;
  /** Graceful: stop consuming, commit and ack the batch in hand, close the API and the store. */
  close(): Promise<void>;
  status(): CollectorStatus;
  /** Emits 'stored' with { lastSeq } after every committed batch. */
  readonly events: EventEmitter;
  readonly metrics: CollectorMetrics;
  /** `http://host:port` once the API listens; null without one. */
  url(): string | null;
}

export function createCollector(config: CollectorConfig, deps: CollectorDeps): Collector {
  const logger = deps.logger;
  const now = deps.now ?? Date.now;
  const metrics = createMetrics(deps.registry);
  const events = new EventEmitter();
  // Every live stream of the API listens here; a dozen terminals must not look like a leak.
  events.setMaxListeners(0);
  const rate = new RateMeter(now);
  const state: CollectorStatus = {
    brokerConnected: false,
    storeWritable: false,
    queue: config.queue,
    queueDepth: null,
    deadLetterDepth: null,
    unroutedDepth: null,
    ingestRate: 0,
    stored: 0,
    duplicates: 0,
    deadLettered: 0,
    dbPath: config.dbPath,
  };
  const status = (): CollectorStatus => ({ ...state, ingestRate: rate.rate() });

  let store: IngestStore | null = null;
  let consumer: Consumer | null = null;
  let redeliveries: RedeliveryLedger | null = null;
  let retention: { stop(): Promise<void> } | null = null;
  let upkeep: { stop(): void } | null = null;
  let api: ApiHost | null = null;
  let url: string | null = null;
  let started = false;

  async function shutdown(): Promise<void> {
    if (consumer !== null) await consumer.close();
    consumer = null;
    // The channel's close-ok has settled the last acks: their digests can go now.
    if (redeliveries !== null && store !== null) {
      try {
        await store.removeLedgerRows(redeliveries.flush());
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'could not clear settled redelivery digests; harmless');
      }
    }
    redeliveries = null;
    if (retention !== null) await retention.stop();
    retention = null;
    upkeep?.stop();
    upkeep = null;
    if (api !== null)
      await api.close().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'HTTP close'));
    api = null;
    if (store !== null) await store.close(logger);
    store = null;
  }

  return {
    events,
    metrics,
    status,
    url: () => url,

    async start() {
      if (started) throw new Error('collector already started');
      started = true;
      // One writer per store, and an API that can serve it, before anything is consumed: a
      // collector that fails later would have taken records into a store nobody reads.
      try {
        const opened = await openStore(config, logger, deps.db);
        store = opened;
        if (config.listen !== null) {
          api = await startApiThread({
            dbPath: config.dbPath,
            storeUrl: config.storeUrl,
            listen: config.listen,
            events,
            status,
            registry: metrics.registry,
            logger,
            token: config.token,
            allowedHosts: allowedHosts(config.listen.host, config.allowHosts),
            reads: config.reads,
          });
          url = api.url;
        }
        redeliveries = createRedeliveryLedger(await opened.ledgerRows());
        consumer = createConsumer({
          config,
          writer: opened,
          redeliveries,
          metrics,
          status: state,
          logger,
          now,
          onStored: (result) => {
            rate.add(result.stored);
            if (result.stored > 0) events.emit('stored', { lastSeq: result.lastSeq });
          },
        });
        await consumer.start();
        await narrowBindings(config, opened, logger);
        retention = startRetention(
          opened.retention(config.retention, now),
          config.retentionIntervalMs,
          logger,
          (count) => metrics.retentionDeleted.inc(count),
        );
        upkeep = opened.maintain(logger);
        // Said once consuming: a start that fails says only why, in one line.
        if (url !== null) logger.info({ url }, 'HTTP API listening');
      } catch (err) {
        await shutdown();
        throw err;
      }
    },

    async close() {
      await shutdown();
      logger.info({ stored: state.stored, deadLettered: state.deadLettered }, 'collector stopped');
    },
  };
}

/**
 * The queue's bindings are what the flags say: keys bound by an earlier run and no longer wanted
 * are removed (the consumer has just bound the wanted ones), and the log says what changed. Keys an
 * older collector bound on the main exchange itself (before `.collect`, CONTRACT §1) go too, `#`
 * among them: the queue's only bindings are now on `.collect`.
 */
async function narrowBindings(config: CollectorConfig, store: IngestStore, logger: Logger): Promise<void> {
  const change = bindingChange(await store.bindings(config.queue, config.names.exchange), config.bindings);
  const legacy = new Set([...change.removed, '#']);
  const connection = await connectBroker(config.amqpUrl, { name: `${config.connectionName} (bindings)` });
  try {
    const channel = await connection.createChannel();
    for (const key of change.removed) await channel.unbindQueue(config.queue, config.names.collect, key);
    // Unbinding a key that is not bound is a no-op on the broker.
    for (const key of legacy) await channel.unbindQueue(config.queue, config.names.exchange, key);
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
  await store.rememberBindings(config.queue, config.names.exchange, config.bindings);
  if (change.known && (change.added.length > 0 || change.removed.length > 0)) {
    logger.info(
      { queue: config.queue, added: change.added, removed: change.removed },
      "the queue's bindings changed with --bind: bound the added keys, unbound the removed ones",
    );
  }
}
