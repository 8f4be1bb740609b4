import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, type RunningBin, startLiveTail, stopBin } from '../../testkit/processes.js';
import { useRealCollector } from '../../testkit/suite.js';
import { tempDir } from '../../testkit/temp.js';

interface ApiRecord {
  id: string | null;
  msg: string;
  facility: string;
  severity: string;
  routing_key: string;
}

/**
 * The thin real path of issue 2, through the real commands: logship → broker → logcollect →
 * SQLite → GET /api/logs, and logtail --json printing records published after it started,
 * including a plain-text message from a foreign AMQP client.
 */
describe('one record from logship to logtail, end to end', () => {
  const suite = useRealCollector('e2e');
  const { exchange, dir } = suite;
  let tail: RunningBin;

  beforeAll(async () => {
    tail = await startLiveTail(suite.connection, exchange, ['*.critical'], { probeKey: 'probe.critical' });
  }, 60_000);

  afterAll(async () => {
    if (tail !== undefined) await stopBin(tail);
  });

  it('ships, stores, serves and tails one kern.critical record', async () => {
    const ship = runBin(
      'logship',
      [
        '--facility',
        'kern',
        '--severity',
        'crit',
        '--exchange',
        exchange,
        '--spool',
        path.join(dir, 'spool'),
      ],
      'disk failure\n',
    );
    expect(await ship.exited).toBe(0);

    let stored: ApiRecord[] = [];
    await expect
      .poll(
        async () => {
          const response = await fetch(`${suite.api}/api/logs?pattern=*.critical&q=disk`);
          stored = ((await response.json()) as { records: ApiRecord[] }).records;
          return stored.length;
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    expect(stored[0]).toMatchObject({
      msg: 'disk failure',
      facility: 'kern',
      severity: 'critical',
      routing_key: 'kern.critical',
    });
    expect(stored[0]?.id).toEqual(expect.any(String));

    await expect
      .poll(() => tailed().filter((r) => r.msg === 'disk failure').length, { timeout: 10_000 })
      .toBe(1);
    expect(tailed().find((r) => r.msg === 'disk failure')?.id).toBe(stored[0]?.id);
  });

  it('stores and tails a plain-text message from any other AMQP client', async () => {
    const channel = await suite.connection.createConfirmChannel();
    channel.publish(exchange, 'kern.critical', Buffer.from('kernel panic from a plain client'), {
      persistent: true,
      messageId: 'foreign-1',
    });
    await channel.waitForConfirms();
    await channel.close();

    await expect
      .poll(
        async () => {
          const response = await fetch(`${suite.api}/api/logs?pattern=kern.critical&q=panic`);
          return ((await response.json()) as { records: ApiRecord[] }).records.map((r) => [
            r.msg,
            r.routing_key,
          ]);
        },
        { timeout: 15_000 },
      )
      .toEqual([['kernel panic from a plain client', 'kern.critical']]);
    await expect
      .poll(() => tailed().filter((r) => r.msg === 'kernel panic from a plain client').length, {
        timeout: 10_000,
      })
      .toBe(1);
  });

  it('keeps stdout pure NDJSON', () => {
    const lines = tail.stdout().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  function tailed(): ApiRecord[] {
    return tail
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ApiRecord);
  }
});

describe('without a broker', () => {
  // A real file: the API reads the store through its own connection, which ':memory:' cannot give.
  const scratch = tempDir('e2e');
  afterAll(() => scratch.remove());
  it.each([
    ['logcollect', ['--db', path.join(scratch.dir, 'warren.db'), '--listen', '127.0.0.1:0']],
    ['logtail', ['--json', '*.critical']],
  ] as const)('%s says so in one clear line and exits 1', async (name, args) => {
    const run = runBin(name, ['--amqp', 'amqp://guest:guest@127.0.0.1:1', ...args]);
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toContain('cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1');
    expect(run.stderr()).not.toMatch(/^\s+at /m);
  });

  it('rejects a bad pattern as bad usage before touching the broker', async () => {
    const run = runBin('logtail', ['--amqp', 'amqp://guest:guest@127.0.0.1:1', 'kern..info']);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain("invalid pattern 'kern..info'");
  });
});
