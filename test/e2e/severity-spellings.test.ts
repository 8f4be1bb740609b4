import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inKeyCase,
  SEVERITIES,
  SEVERITY_SPELLINGS,
  severityRank,
  type Severity,
} from '../../protocol/index.js';
import { deleteTopology, openConnection, queueDepth, uniqueName } from '../../testkit/broker.js';
import { waitUntil } from '../../testkit/wait.js';
import { type RunningBin, startCollector, startLiveTail, stopBin } from '../../testkit/processes.js';

interface ApiRecord {
  msg: string;
  severity: string;
  routing_key: string;
}

interface Row {
  key: string;
  severity: Severity;
  /** Whether `--bind '*.warning+' --bind 'kern.debug+'` archives it. */
  archived: boolean;
}

/**
 * Issue 13 item 1: every severity spelling a foreign shipper sends (syslog-ng's `kern.crit`,
 * `KERN.CRITICAL`) × the API, the live tail and `logcollect --bind`, through the real commands.
 * One collector and one tail for the whole table.
 */
describe('severity spellings in routing keys', () => {
  const exchange = uniqueName('test-alias');
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-alias-'));
  const FACILITIES = ['kern', 'daemon'];
  const rows: Row[] = FACILITIES.flatMap((facility) =>
    SEVERITY_SPELLINGS.map((s) => ({
      key: `${inKeyCase(facility, s.keyCase)}.${s.spelling}`,
      severity: s.severity,
      archived: facility === 'kern' || severityRank(s.severity) <= severityRank('warning'),
    })),
  );
  // Not severities: bound by none of the patterns below, so the broker routes them to .unrouted.
  const strays = ['kern.verbose', 'daemon.Critical2'];
  let connection: ChannelModel;
  let collector: RunningBin | undefined;
  let tail: RunningBin | undefined;
  let api = '';
  let unrouted = -1;
  let unroutedWithTail = -1;

  const get = async (query: string): Promise<ApiRecord[]> => {
    const res = await fetch(`${api}/api/logs?limit=1000&${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { records: ApiRecord[] }).records.filter((r) => r.msg !== 'probe');
  };
  const keysOf = (records: readonly { routing_key: string }[]): string[] =>
    records.map((r) => r.routing_key).sort();
  const rowKeys = (keep: (row: Row) => boolean): string[] =>
    rows
      .filter(keep)
      .map((r) => r.key)
      .sort();

  beforeAll(async () => {
    connection = await openConnection(`${exchange}-client`);
    ({ collector, api } = await startCollector(exchange, dir, [
      '--bind',
      '*.warning+',
      '--bind',
      'kern.debug+',
    ]));
    const channel = await connection.createConfirmChannel();
    // As syslog-ng publishes: a text body, the level in the key as the shipper spells it. The same
    // message ids each round, so the store keeps one record per key.
    const publishTable = async (): Promise<void> => {
      // Strays first: on the tail they would come before the rows, not after the test looked.
      for (const key of [...strays, ...rows.map((r) => r.key)]) {
        channel.publish(exchange, key, Buffer.from(`row ${key}`), {
          persistent: true,
          contentType: 'text/plain',
          messageId: `alias:${key}`,
        });
      }
      await channel.waitForConfirms();
    };
    // Round 1, before any tail binds: what the archive's bindings miss goes to .unrouted.
    await publishTable();
    const check = await connection.createChannel();
    unrouted = (await check.checkQueue(`${exchange}.unrouted`)).messageCount;
    await check.close();

    // Round 2 for the tail. Canonical patterns only: each spelling must arrive through the
    // bindings they expand to.
    const patterns = FACILITIES.flatMap((f) => SEVERITIES.map((s) => `${f}.${s}`));
    tail = await startLiveTail(connection, exchange, patterns, {
      probeKey: 'kern.info',
      run: { env: { WARREN_API: '' } },
    });
    await publishTable();
    await channel.close();
    // Issue 14 item 1: a tail on every key must not keep the archive's misses out of .unrouted.
    await waitUntil('round 2 reaches .unrouted', async () => {
      unroutedWithTail = await queueDepth(`${exchange}.unrouted`);
      return unroutedWithTail >= 2 * unrouted;
    }).catch(() => undefined);
  }, 60_000);

  afterAll(async () => {
    if (tail !== undefined) await stopBin(tail);
    if (collector !== undefined) await stopBin(collector);
    if (connection !== undefined) {
      await deleteTopology(exchange);
      await connection.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("--bind '*.warning+' and 'kern.debug+' archive every spelling they cover, and only those", async () => {
    await expect
      .poll(async () => (await get('pattern=%23')).length, { timeout: 20_000 })
      .toBe(rows.filter((r) => r.archived).length);
    expect(keysOf(await get('pattern=%23'))).toEqual(rowKeys((r) => r.archived));
    // daemon.{notice,info,debug,trace} in both cases, and the two strays.
    expect(unrouted).toBe(rows.filter((r) => !r.archived).length + strays.length);
    // The same again while a logtail bound to every key ran.
    expect(unroutedWithTail).toBe(2 * unrouted);
  });

  it.each(SEVERITIES.map((s) => [s]))(
    'the API finds every spelling of %s by its canonical pattern and its range',
    async (severity) => {
      await expect
        .poll(async () => (await get('pattern=%23')).length, { timeout: 20_000 })
        .toBe(rows.filter((r) => r.archived).length);
      const exact = await get(`pattern=kern.${severity}`);
      expect(keysOf(exact)).toEqual(
        rowKeys((r) => r.key.toLowerCase().startsWith('kern.') && r.severity === severity),
      );
      // The record keeps the key it arrived with; its severity is canonical.
      for (const r of exact) expect([r.severity, r.msg]).toEqual([severity, `row ${r.routing_key}`]);
      expect(keysOf(await get(`pattern=*.${severity}`))).toEqual(
        rowKeys((r) => r.archived && r.severity === severity),
      );
      expect(keysOf(await get(`pattern=*.${severity}%2B`))).toEqual(
        rowKeys((r) => r.archived && severityRank(r.severity) <= severityRank(severity)),
      );
    },
  );

  it('logtail with canonical patterns receives every spelling live, and nothing else', async () => {
    const received = (): ApiRecord[] =>
      (tail?.stdout() ?? '')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as ApiRecord)
        .filter((r) => r.msg !== 'probe');
    await expect.poll(() => received().length, { timeout: 20_000 }).toBe(rows.length);
    expect(keysOf(received())).toEqual(rowKeys(() => true));
    for (const r of received()) {
      const row = rows.find((x) => x.key === r.routing_key);
      expect(r.severity).toBe(row?.severity);
    }
    expect(tail?.stderr()).toBe('');
  });
});
