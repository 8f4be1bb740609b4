import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_HEADER, ErrorCodes } from '../../protocol/index.js';
import { createCollector, type Collector } from '../../collector/collector.js';
import { openDatabase } from '../../collector/store/database.js';
import { countRows, fixture, ndjsonMessages, readStore, type Fixture } from './helpers.js';
import { closeNamedConnection, publish, queueDepth } from '../../testkit/broker.js';
import { captureLogger } from '../../testkit/log.js';
import { waitUntil } from '../../testkit/wait.js';
import { RECORD_ID_SQL } from '../../collector/store/message-runs.js';

const running: Collector[] = [];
const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const collector of running.splice(0)) await collector.close();
  for (const f of fixtures.splice(0)) await f.cleanup();
});

async function setup(area: string): Promise<Fixture> {
  const f = await fixture(area);
  fixtures.push(f);
  return f;
}

function start(collector: Collector): Promise<void> {
  running.push(collector);
  return collector.start();
}

interface DeadLetterSeen {
  body: string;
  reason: unknown;
  routingKey: string;
  contentEncoding: unknown;
}

async function drainDead(f: Fixture): Promise<DeadLetterSeen[]> {
  const channel = await f.connection.createChannel();
  const seen: DeadLetterSeen[] = [];
  for (;;) {
    const message = await channel.get(`${f.exchange}.dead`, { noAck: true });
    if (message === false) break;
    seen.push({
      body: message.content.toString('latin1'),
      reason: message.properties.headers?.[ERROR_HEADER],
      routingKey: message.fields.routingKey,
      contentEncoding: message.properties.contentEncoding,
    });
  }
  await channel.close();
  return seen;
}

describe('collector consuming from the broker', () => {
  it('stores JSON, NDJSON and plain-text records, acks after commit and emits stored', async () => {
    const f = await setup('col-basic');
    const { logger } = captureLogger();
    const collector = createCollector(f.config(), { logger });
    const seqs: number[] = [];
    collector.events.on('stored', (event: { lastSeq: number }) => seqs.push(event.lastSeq));
    await start(collector);
    await publish(f.connection, f.exchange, [
      ...ndjsonMessages('basic', 250, 50),
      {
        key: 'kern.critical',
        body: JSON.stringify({
          id: 'json:1',
          msg: 'disk failure on sda',
          host: 'web-01',
          pid: 4121,
          fields: { disk: 'sda' },
        }),
        options: { contentType: 'application/json' },
      },
      { key: 'auth.warning', body: 'plain text from pika\n', options: { messageId: 'pika-1' } },
    ]);
    await waitUntil('252 records stored', () => countRows(f.dbPath).rows === 252);
    expect(countRows(f.dbPath)).toEqual({ rows: 252, ids: 252 });
    const db = readStore(f.dbPath);
    const plain = db
      .prepare(
        `SELECT r.*, k.routing_key FROM records r JOIN routing_keys k USING (key_id) WHERE ${RECORD_ID_SQL} = ?`,
      )
      .get('pika-1:0');
    expect(plain).toMatchObject({
      facility: 'auth',
      severity: 4,
      msg: 'plain text from pika',
      routing_key: 'auth.warning',
    });
    db.close();
    expect(seqs.at(-1)).toBe(252);
    await waitUntil('status polled', () => collector.status().queueDepth === 0);
    const status = collector.status();
    expect(status).toMatchObject({
      brokerConnected: true,
      storeWritable: true,
      stored: 252,
      deadLettered: 0,
    });
    expect(status.queue).toBe(`${f.exchange}.archive`);
    const metrics = await collector.metrics.registry.getSingleMetricAsString('warren_records_stored_total');
    expect(metrics).toContain('warren_records_stored_total 252');
    await collector.close();
    // Nothing left unacked: after the connection is gone the queue holds nothing.
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(0);
  });

  it('dead-letters every kind of poison with its reason and keeps the good records', async () => {
    const f = await setup('col-poison');
    const { logger, lines } = captureLogger();
    const collector = createCollector(f.config({ maxMessageBytes: 64 * 1024 }), { logger });
    await start(collector);
    const json = { contentType: 'application/json' };
    const ndjson = { contentType: 'application/x-ndjson', messageId: 'nd' };
    await publish(f.connection, f.exchange, [
      { key: 'app.error', body: '{"msg": "unterminated', options: json },
      { key: 'app.error', body: 'plain text but claims JSON', options: json },
      {
        key: 'app.error',
        body: Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x00]),
        options: { contentType: 'text/plain' },
      },
      { key: 'app.error', body: Buffer.alloc(100 * 1024, 'a'), options: json },
      { key: 'app.error', body: '[1,2,3]', options: json },
      { key: 'app.error', body: '{"host":"web-01"}', options: json },
      { key: 'app.error', body: gzipSync('{"msg":"zipped"}'), options: { ...json, contentEncoding: 'gzip' } },
      {
        key: 'app.info',
        body: '{"id":"nd:good1","msg":"good one"}\n{"id":"nd:bad","msg":\n{"id":"nd:good2","msg":"good two"}\n',
        options: ndjson,
      },
      // Decodable but odd: unknown severity in the body, a three-word key; stored as read.
      {
        key: 'web.frontend.info',
        body: '{"id":"odd:1","msg":"three words","severity":"loud"}',
        options: json,
      },
      {
        key: 'app.notice',
        body: '{"id":"odd:2","msg":"bad body severity","severity":"loud"}',
        options: json,
      },
    ]);
    await waitUntil('good records stored', () => countRows(f.dbPath).rows === 4);
    await waitUntil('dead letters counted', () => collector.status().deadLettered === 8);
    const dead = await drainDead(f);
    expect(dead).toHaveLength(8);
    const reasons = dead.map((d) => String(d.reason));
    expect(reasons.filter((r) => r.startsWith('invalid JSON'))).toHaveLength(3);
    expect(reasons).toContain('body is not valid UTF-8');
    expect(reasons.some((r) => /exceeds the 64.0 KiB|exceeds the 65536 bytes limit/.test(r))).toBe(true);
    expect(reasons).toContain('record is not a JSON object');
    expect(reasons).toContain('record has no "msg"');
    expect(reasons.some((r) => r.includes("content encoding 'gzip'"))).toBe(true);
    // The original bytes travel with the reason; an NDJSON batch loses only its bad line.
    expect(dead.find((d) => d.reason === 'body is not valid UTF-8')?.body).toBe(
      Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x00]).toString('latin1'),
    );
    expect(dead.find((d) => d.routingKey === 'app.info')?.body).toBe('{"id":"nd:bad","msg":');
    // A message dead-lettered whole keeps its content encoding, so its bytes can still be read.
    const zipped = dead.find((d) => String(d.reason).includes("content encoding 'gzip'"));
    expect(zipped?.contentEncoding).toBe('gzip');
    expect(gunzipSync(Buffer.from(zipped?.body ?? '', 'latin1')).toString()).toBe('{"msg":"zipped"}');
    expect(dead.every((d) => d.routingKey.startsWith('app.'))).toBe(true);

    const db = readStore(f.dbPath);
    const stored = db
      .prepare(
        `SELECT ${RECORD_ID_SQL} AS id, routing_key, facility, severity FROM records r JOIN routing_keys USING (key_id) ORDER BY seq`,
      )
      .all();
    db.close();
    expect(stored).toEqual([
      { id: 'nd:good1', routing_key: 'app.info', facility: 'app', severity: 6 },
      { id: 'nd:good2', routing_key: 'app.info', facility: 'app', severity: 6 },
      { id: 'odd:1', routing_key: 'web.frontend.info', facility: 'unknown', severity: 5 },
      { id: 'odd:2', routing_key: 'app.notice', facility: 'app', severity: 5 },
    ]);
    expect(lines().some((line) => line.msg === 'records that cannot be stored were dead-lettered')).toBe(
      true,
    );
    await collector.close();
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(0);
  });

  it('survives its broker connection being closed mid-stream: nothing lost, nothing doubled', async () => {
    const f = await setup('col-reconnect');
    const { logger, lines } = captureLogger();
    const collector = createCollector(f.config({ batchMessages: 20, prefetch: 40 }), { logger });
    await start(collector);
    const messages = ndjsonMessages('rc', 6000, 10);
    const publishing = (async () => {
      for (let i = 0; i < messages.length; i += 50) {
        await publish(f.connection, f.exchange, messages.slice(i, i + 50));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await waitUntil('some stored', () => countRows(f.dbPath).rows > 500);
    expect(await closeNamedConnection(f.connectionName)).toBeGreaterThan(0);
    await waitUntil('reconnected once', () => lines().some((l) => l.msg === 'reconnected; consuming again'));
    expect(await closeNamedConnection(f.connectionName)).toBeGreaterThan(0);
    const reconnected = (): number => lines().filter((l) => l.msg === 'reconnected; consuming again').length;
    await waitUntil('reconnected twice', () => reconnected() >= 2);
    await publishing;
    await waitUntil('all stored', () => countRows(f.dbPath).rows >= 6000, 30_000);
    await collector.close();
    expect(countRows(f.dbPath)).toEqual({ rows: 6000, ids: 6000 });
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(0);
    await expect(collector.metrics.reconnects.get()).resolves.toMatchObject({ values: [{ value: 2 }] });
  });

  it('holds batches unacked while the disk is full, then resumes without losing any', async () => {
    const f = await setup('col-full');
    const { logger, lines } = captureLogger();
    const db = openDatabase(f.dbPath);
    const collector = createCollector(f.config(), { logger, db });
    await start(collector);
    await publish(f.connection, f.exchange, ndjsonMessages('warm', 10, 10));
    await waitUntil('first batch', () => collector.status().stored === 10);
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    await publish(f.connection, f.exchange, ndjsonMessages('full', 3000, 100));
    await waitUntil('store marked unwritable', () => !collector.status().storeWritable);
    expect(lines().some((l) => l.level === 50 && String(l.msg).includes('the store refused a batch'))).toBe(
      true,
    );
    expect(collector.status().stored).toBe(10);
    db.pragma('max_page_count = 1073741823');
    await waitUntil('all stored after space came back', () => collector.status().stored === 3010, 30_000);
    expect(collector.status().storeWritable).toBe(true);
    await collector.close();
    db.close();
    expect(countRows(f.dbPath)).toEqual({ rows: 3010, ids: 3010 });
  });

  it('loses its session while the disk is full, reconnects, and still stores every record once', async () => {
    const f = await setup('col-full-rc');
    const { logger, lines } = captureLogger();
    const db = openDatabase(f.dbPath);
    const collector = createCollector(f.config({ batchMessages: 10, prefetch: 20 }), { logger, db });
    await start(collector);
    await publish(f.connection, f.exchange, ndjsonMessages('pre', 10, 10));
    await waitUntil('first batch', () => collector.status().stored === 10);
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    await publish(f.connection, f.exchange, ndjsonMessages('stuck', 2000, 20));
    await waitUntil('store marked unwritable', () => !collector.status().storeWritable);
    expect(await closeNamedConnection(f.connectionName)).toBeGreaterThan(0);
    await waitUntil('reconnected', () => lines().some((l) => l.msg === 'reconnected; consuming again'));
    db.pragma('max_page_count = 1073741823');
    await waitUntil('all stored', () => countRows(f.dbPath).rows === 2010, 30_000);
    await collector.close();
    db.close();
    expect(countRows(f.dbPath)).toEqual({ rows: 2010, ids: 2010 });
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(0);
  });

  it('enforces --retention in the background while consuming', async () => {
    const f = await setup('col-retention');
    const { logger } = captureLogger();
    const now = Date.parse('2026-11-21T12:00:00.000Z');
    const collector = createCollector(
      f.config({ retention: ['*.debug=1d', '#=30d'], retentionIntervalMs: 50 }),
      { logger, now: () => now },
    );
    await start(collector);
    const day = 86_400_000;
    const at = (daysAgo: number): string => new Date(now - daysAgo * day).toISOString();
    const json = { contentType: 'application/json' };
    await publish(f.connection, f.exchange, [
      { key: 'app.debug', body: JSON.stringify({ id: 'd-old', ts: at(2), msg: 'old debug' }), options: json },
      { key: 'app.info', body: JSON.stringify({ id: 'i-old', ts: at(40), msg: 'old info' }), options: json },
      {
        key: 'app.info',
        body: JSON.stringify({ id: 'i-mid', ts: at(2), msg: 'recent info' }),
        options: json,
      },
      {
        key: 'app.debug',
        body: JSON.stringify({ id: 'd-new', ts: at(0.5), msg: 'new debug' }),
        options: json,
      },
      { key: 'app.info', body: JSON.stringify({ id: 'newest', ts: at(0), msg: 'newest' }), options: json },
    ]);
    await waitUntil('stored', () => collector.status().stored === 5);
    await waitUntil('expired deleted', () => countRows(f.dbPath).rows === 3);
    const db = readStore(f.dbPath);
    expect(db.prepare(`SELECT ${RECORD_ID_SQL} FROM records r ORDER BY seq`).pluck().all()).toEqual([
      'i-mid',
      'd-new',
      'newest',
    ]);
    db.close();
    expect(await collector.metrics.retentionDeleted.get()).toMatchObject({ values: [{ value: 2 }] });
  });

  it('on close commits and acks the batch in hand', async () => {
    const f = await setup('col-close');
    const { logger } = captureLogger();
    // A long linger keeps the records in hand until close.
    const collector = createCollector(f.config({ lingerMs: 60_000 }), { logger });
    await start(collector);
    await publish(f.connection, f.exchange, ndjsonMessages('close', 30, 3));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(countRows(f.dbPath).rows).toBe(0);
    await collector.close();
    expect(countRows(f.dbPath)).toEqual({ rows: 30, ids: 30 });
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(0);
  });

  it('re-declares and resumes when the broker cancels the consumer (queue deleted)', async () => {
    const f = await setup('col-cancel');
    const { logger, lines } = captureLogger();
    const collector = createCollector(f.config(), { logger });
    await start(collector);
    const channel = await f.connection.createChannel();
    await channel.deleteQueue(`${f.exchange}.archive`);
    await channel.close();
    await waitUntil('consumer re-declared', () =>
      lines().some((l) => l.msg === 'reconnected; consuming again'),
    );
    await publish(f.connection, f.exchange, ndjsonMessages('after', 5, 5));
    await waitUntil('stored after re-declare', () => countRows(f.dbPath).rows === 5);
  });

  it('declares a quorum queue with --quorum, and reports a clash with an existing queue of the other type', async () => {
    const f = await setup('col-quorum');
    const { logger } = captureLogger();
    const quorum = createCollector(f.config({ quorum: true }), { logger });
    await start(quorum);
    await publish(f.connection, f.exchange, ndjsonMessages('q', 5, 5));
    await waitUntil('stored via quorum', () => countRows(f.dbPath).rows === 5);
    await quorum.close();
    const classic = createCollector(f.config({ db: `${f.dir}/other.db` }), { logger });
    await expect(classic.start()).rejects.toMatchObject({
      code: ErrorCodes.TOPOLOGY_CLASH,
      message: expect.stringMatching(
        /^queue '.*' already exists with x-queue-type = .*quorum.*classic/,
      ) as unknown,
    });
    await expect(classic.start()).rejects.toThrow('already started');

    const g = await setup('col-classic');
    const first = createCollector(g.config(), { logger });
    await start(first);
    await first.close();
    const clash = createCollector(g.config({ quorum: true, db: `${g.dir}/other.db` }), { logger });
    await expect(clash.start()).rejects.toMatchObject({
      code: ErrorCodes.TOPOLOGY_CLASH,
      message: expect.stringMatching(
        /^queue '.*' already exists with x-queue-type = .*classic.*quorum/,
      ) as unknown,
      hint: expect.stringContaining('--quorum') as unknown,
    });
  });

  it('fails fast with a clear error when the broker is unreachable', async () => {
    const f = await setup('col-nobroker');
    const { logger } = captureLogger();
    const collector = createCollector(f.config({ amqp: 'amqp://guest:guest@127.0.0.1:1' }), { logger });
    await expect(collector.start()).rejects.toMatchObject({ code: ErrorCodes.BROKER_UNREACHABLE });
  });

  it('warns in its log when .unrouted grows, saying what it means and what to do, once per growth', async () => {
    const f = await setup('col-unrouted');
    const { logger, lines } = captureLogger();
    const collector = createCollector(f.config({ bind: ['kern.*'] }), { logger });
    await start(collector);
    await publish(f.connection, f.exchange, [{ key: 'app.info', body: 'nobody binds app' }]);
    const growing = (): Record<string, unknown>[] =>
      lines().filter(
        (l) => typeof l.msg === 'string' && l.msg.startsWith(`${f.exchange}.unrouted is growing`),
      );
    await waitUntil('the growth warning', () => growing().length > 0, 10_000);
    expect(growing()[0]).toMatchObject({ level: 40, messages: 1, grown: 1 });
    expect(String(growing()[0]?.msg)).toContain('widen --bind');
    expect(collector.status().unroutedDepth).toBe(1);
  });
});
