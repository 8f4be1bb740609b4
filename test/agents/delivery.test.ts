import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTENT_TYPE_NDJSON } from '../../protocol/index.js';
import { Shipper, resolveShipperConfig, type ShipperOptions } from '../../agents/shipper.js';
import { AMQP_URL, closeNamedConnection, uniqueName } from '../../testkit/broker.js';
import { startBrokerProxy, type TcpProxy } from '../../testkit/net.js';
import { tempDir } from '../../testkit/temp.js';
import { useCleanups } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';
import { createSink, dedupe, orderOf, silentLogger, type Received, type Sink } from './helpers.js';

const cleanup = useCleanups();

async function setup(
  options: Partial<ShipperOptions> & { amqpUrl?: string } = {},
): Promise<{ sink: Sink; shipper: Shipper; spool: string }> {
  const sink = await createSink('agents');
  cleanup(() => sink.close());
  const { dir: spool, remove: removeSpool } = tempDir('agents');
  cleanup(removeSpool);
  const shipper = new Shipper(
    resolveShipperConfig({
      amqpUrl: AMQP_URL,
      exchange: sink.exchange,
      spoolDir: spool,
      logger: silentLogger,
      facility: 'test',
      host: 'test-host',
      app: 'agents-test',
      connectionName: uniqueName('test-agents-conn'),
      connectWaitMs: 2000,
      ...options,
    }),
  );
  cleanup(async () => void (await shipper.close()));
  await shipper.start();
  return { sink, shipper, spool };
}

/** Per routing key, the sequence numbers of the records in order of first arrival. */
function firstArrivalOrder(received: readonly Received[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const r of dedupe(received)) {
    const list = byKey.get(r.key) ?? [];
    list.push(orderOf(r.id));
    byKey.set(r.key, list);
  }
  return byKey;
}

function isAscending(list: readonly number[]): boolean {
  return list.every((v, i) => i === 0 || list[i - 1]! < v);
}

const KEYS = [
  ['kern', 'critical'],
  ['app', 'info'],
  ['auth', 'warning'],
] as const;

describe('shipper against the real broker', () => {
  it('batches per routing key into persistent NDJSON messages with ids, and confirms all', async () => {
    const { sink, shipper } = await setup({ batch: { maxRecords: 100, maxBytes: 1 << 20, lingerMs: 20 } });
    for (let i = 0; i < 900; i++) {
      const [facility, severity] = KEYS[i % 3]!;
      shipper.log({ msg: `record ${i}`, facility, severity, fields: { i } });
    }
    expect(await shipper.drain(10_000)).toBe(true);
    const received = await sink.waitFor((r) => r.length >= 900);
    expect(received).toHaveLength(900);
    expect(new Set(received.map((r) => r.id)).size).toBe(900);
    for (const r of received) {
      expect(r.contentType).toBe(CONTENT_TYPE_NDJSON);
      // The key says facility and severity; the body does not repeat them.
      const [facility, severity] = KEYS[Number(r.record.msg.replace('record ', '')) % 3]!;
      expect(r.key).toBe(`${facility}.${severity}`);
      expect(r.record).not.toHaveProperty('facility');
      expect(r.record).not.toHaveProperty('severity');
      expect(r.record).toMatchObject({ host: 'test-host', app: 'agents-test', pid: process.pid });
    }
    // 300 records per key in batches of at most 100: at least 3 messages per key, never mixed keys.
    const messages = new Map<string, string>();
    for (const r of received) {
      const seen = messages.get(r.messageId!);
      if (seen !== undefined) expect(seen).toBe(r.key);
      messages.set(r.messageId!, r.key);
    }
    expect(messages.size).toBeGreaterThanOrEqual(9);
    expect(messages.size).toBeLessThanOrEqual(15);
    for (const order of firstArrivalOrder(received).values()) expect(isAscending(order)).toBe(true);
    expect(shipper.stats).toMatchObject({ read: 900, confirmed: 900, dropped: 0 });
  });

  it('loses nothing when its connection is closed mid-stream: every record exactly once after dedupe, in order per key', async () => {
    const connectionName = uniqueName('test-agents-conn');
    const { sink, shipper } = await setup({
      connectionName,
      batch: { maxRecords: 50, maxBytes: 1 << 20, lingerMs: 5 },
    });
    const total = 20_000;
    let sent = 0;
    let closedOnce = false;
    while (sent < total) {
      for (let i = 0; i < 500; i++, sent++) {
        const [facility, severity] = KEYS[sent % 3]!;
        shipper.log({ msg: `n${sent}`, facility, severity });
      }
      if (sent === 6_000) closedOnce = (await closeNamedConnection(connectionName)) > 0;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(closedOnce).toBe(true);
    expect(await shipper.drain(20_000)).toBe(true);
    const received = await sink.waitFor((r) => dedupe(r).length >= total, 20_000);
    const unique = dedupe(received);
    expect(unique).toHaveLength(total);
    expect(new Set(unique.map((r) => r.record.msg)).size).toBe(total);
    for (const order of firstArrivalOrder(received).values()) expect(isAscending(order)).toBe(true);
  });

  it('while the broker is up, pauses its input instead of spooling when the memory queue fills (back-pressure)', async () => {
    const { sink, shipper } = await setup({
      memoryBytes: 512 * 1024,
      batch: { maxRecords: 50, maxBytes: 1 << 20, lingerMs: 1 },
    });
    const total = 40_000;
    let pauses = 0;
    // An input that can wait, as stdin and files do: it stops while accepting is false.
    for (let n = 0; n < total; n++) {
      if (!shipper.accepting) {
        pauses++;
        await new Promise<void>((resolve) => shipper.onResume(resolve));
      }
      shipper.log({ msg: `burst ${n} ${'x'.repeat(180)}`, facility: 'app', severity: 'info' });
    }
    expect(await shipper.drain(30_000)).toBe(true);
    // ~7.6 MB through a 512 KiB queue: the input waited, and not one record touched the disk.
    expect(pauses).toBeGreaterThan(3);
    expect(shipper.stats.spooled).toBe(0);
    const received = await sink.waitFor((r) => dedupe(r).length >= total);
    expect(dedupe(received)).toHaveLength(total);
  });

  describe('with the broker unreachable', () => {
    let proxy: TcpProxy;
    let proxyUrl: string;

    it('spools while it is away and delivers everything in order per key once it is back', async () => {
      ({ proxy, url: proxyUrl } = await startBrokerProxy({ listening: false }));
      cleanup(() => proxy.close());
      const { sink, shipper, spool } = await setup({ amqpUrl: proxyUrl, connectWaitMs: 300 });
      expect(shipper.stats.state).toBe('spooling');
      for (let i = 0; i < 3_000; i++) {
        const [facility, severity] = KEYS[i % 3]!;
        shipper.log({ msg: `offline ${i}`, facility, severity });
      }
      shipper.flush();
      await waitUntil('records spooled', () => shipper.stats.spooled === 3_000);
      expect(shipper.spoolBytes).toBeGreaterThan(0);
      // fsync'd in batches: on disk within the sync period.
      await waitUntil('a segment on disk', () =>
        fs.readdirSync(shipper.laneDir!).some((f) => f.startsWith('seg-')),
      );
      await proxy.restore();
      // Records logged after the broker returns queue behind the spooled ones.
      await waitUntil('reconnected', () => shipper.stats.state === 'connected', 20_000);
      for (let i = 3_000; i < 3_600; i++) {
        const [facility, severity] = KEYS[i % 3]!;
        shipper.log({ msg: `online ${i}`, facility, severity });
      }
      expect(await shipper.drain(20_000)).toBe(true);
      const received = await sink.waitFor((r) => dedupe(r).length >= 3_600);
      expect(dedupe(received)).toHaveLength(3_600);
      for (const order of firstArrivalOrder(received).values()) {
        expect(order).toHaveLength(1_200);
        expect(isAscending(order)).toBe(true);
      }
      expect(shipper.spoolBytes).toBe(0);
      expect(spool).not.toBe('');
    });

    it('spools the records in flight when the broker goes away mid-stream, and sends them when it returns', async () => {
      ({ proxy, url: proxyUrl } = await startBrokerProxy());
      cleanup(() => proxy.close());
      const { sink, shipper } = await setup({
        amqpUrl: proxyUrl,
        batch: { maxRecords: 20, maxBytes: 1 << 20, lingerMs: 2 },
      });
      expect(shipper.stats.state).toBe('connected');
      for (let i = 0; i < 2_000; i++) shipper.log({ msg: `a${i}`, facility: 'app', severity: 'info' });
      await proxy.cut();
      for (let i = 2_000; i < 4_000; i++) shipper.log({ msg: `a${i}`, facility: 'app', severity: 'info' });
      shipper.flush();
      await waitUntil('spooling', () => shipper.stats.state === 'spooling');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await proxy.restore();
      expect(await shipper.drain(20_000)).toBe(true);
      const received = await sink.waitFor((r) => dedupe(r).length >= 4_000);
      const order = firstArrivalOrder(received).get('app.info')!;
      expect(order).toHaveLength(4_000);
      expect(isAscending(order)).toBe(true);
    });

    it('pauses its input when the spool is full and resumes when there is room', async () => {
      ({ proxy, url: proxyUrl } = await startBrokerProxy({ listening: false }));
      cleanup(() => proxy.close());
      const { sink, shipper } = await setup({
        amqpUrl: proxyUrl,
        connectWaitMs: 200,
        spoolMaxBytes: 64 * 1024,
        batch: { maxRecords: 10, maxBytes: 1 << 20, lingerMs: 1 },
      });
      let logged = 0;
      while (shipper.accepting && logged < 100_000) {
        shipper.log({ msg: `fill ${logged} ${'x'.repeat(100)}`, facility: 'app', severity: 'info' });
        logged++;
      }
      expect(shipper.accepting).toBe(false);
      expect(shipper.stats.spoolFull).toBe(1);
      let resumed = false;
      shipper.onResume(() => (resumed = true));
      await proxy.restore();
      await waitUntil('resumed', () => resumed, 20_000);
      expect(await shipper.drain(20_000)).toBe(true);
      const received = await sink.waitFor((r) => dedupe(r).length >= logged);
      expect(dedupe(received)).toHaveLength(logged);
    });
  });
});
