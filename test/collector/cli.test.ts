import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectorArgs, countRows, fixture, ndjsonMessages, readStore, type Fixture } from './helpers.js';
import { AMQP_URL, deleteTopology, publish, queueDepth, withChannel } from '../../testkit/broker.js';
import { freePort } from '../../testkit/net.js';
import { runBin, type RunningBin, stopBin } from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/wait.js';

// Through the real `bin/logcollect.js` (compiled by `npm run build`, which `npm test` runs first).

const children: RunningBin[] = [];
const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await stopBin(child, 2_000);
  for (const f of fixtures.splice(0)) await f.cleanup();
});

function logcollect(args: string[]): RunningBin {
  const child = runBin('logcollect', args);
  children.push(child);
  return child;
}

function maxSeq(dbPath: string): number {
  try {
    const db = readStore(dbPath);
    try {
      return db.prepare('SELECT coalesce(max(seq), 0) FROM records').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

describe('logcollect (the real command)', () => {
  it('--help lists every option and exits 0', async () => {
    const help = logcollect(['--help']);
    expect(await help.exited).toBe(0);
    for (const flag of [
      '--bind',
      '--queue',
      '--db',
      '--listen',
      '--quorum',
      '--retention',
      '--amqp',
      '--exchange',
      '--batch-records',
      '--prefetch',
      '--linger-ms',
    ]) {
      expect(help.stdout()).toContain(flag);
    }
  });

  it('rejects a bad pattern or retention rule in one line with exit code 2, before touching the broker', async () => {
    const bad = logcollect(['--bind', 'kern..*', '--amqp', 'amqp://guest:guest@127.0.0.1:1']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/^logcollect: invalid pattern 'kern\.\.\*'/);
    expect(bad.stderr()).not.toContain('    at ');
    const retention = logcollect(['--retention', '*.debug', '--amqp', 'amqp://guest:guest@127.0.0.1:1']);
    expect(await retention.exited).toBe(2);
    expect(retention.stderr()).toMatch(/^logcollect: invalid --retention '\*\.debug'/);
  });

  it('says in one line when no broker is reachable, exit code 1', async () => {
    const f = await fixture('cli-nobroker');
    fixtures.push(f);
    const child = logcollect([
      '--amqp',
      'amqp://guest:guest@127.0.0.1:1',
      '--db',
      f.dbPath,
      '--listen',
      '127.0.0.1:0',
    ]);
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(
      /^logcollect: cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/,
    );
    expect(child.stderr()).not.toContain('    at ');
  });

  it('says in one line when the store directory cannot be made, instead of spinning (/proc)', async () => {
    const child = logcollect(['--db', '/proc/warren-test/x.db', '--listen', '127.0.0.1:0']);
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(/^logcollect: cannot open the store \/proc\/warren-test\/x\.db: ENOENT/);
    expect(child.stderr()).not.toContain('    at ');
  });

  it('reports a queue type clash in one line naming the queue, exit code 1', async () => {
    const f = await fixture('cli-clash');
    fixtures.push(f);
    const channel = await f.connection.createChannel();
    // The queue as a classic Warren declared it, so the type is the one difference.
    await channel.assertExchange(`${f.exchange}.dead`, 'fanout', { durable: true });
    await channel.assertQueue(`${f.exchange}.archive`, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': `${f.exchange}.dead`, 'x-queue-type': 'classic' },
    });
    await channel.close();
    const child = logcollect(collectorArgs(f, '--quorum'));
    expect(await child.exited).toBe(1);
    const [first = '', hint = ''] = child.stderr().split('\n');
    expect(first).toMatch(
      new RegExp(`^logcollect: queue '${f.exchange}\\.archive' already exists with x-queue-type`),
    );
    expect(first).not.toContain('"');
    expect(hint).toContain('--quorum');
    expect(child.stderr()).not.toContain('    at ');
  });

  it('stores what arrives, serves it over HTTP, and exits 0 on SIGTERM', async () => {
    const f = await fixture('cli-http');
    fixtures.push(f);
    const port = await freePort();
    const db = path.join(f.dir, 'data', 'warren.db');
    const child = logcollect([
      '--amqp',
      AMQP_URL,
      '--exchange',
      f.exchange,
      '--db',
      db,
      '--listen',
      `127.0.0.1:${port}`,
      '--bind',
      '*.critical',
    ]);
    await waitUntil('HTTP API up', async () => {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      return ready?.status === 200;
    });
    await publish(f.connection, f.exchange, [
      { key: 'kern.critical', body: 'disk failure', options: { messageId: 'plain-1' } },
      { key: 'kern.info', body: 'not bound: goes to unrouted' },
    ]);
    await waitUntil('record queryable', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/api/logs?pattern=*.critical`);
      const body = (await response.json()) as { records: { msg: string }[] };
      return body.records.some((r) => r.msg === 'disk failure');
    });
    expect(await queueDepth(`${f.exchange}.unrouted`)).toBe(1);
    expect(await stopBin(child)).toBe(0);
    expect(child.stderr()).toContain('collector stopped');
  });

  it('SIGKILLed mid-stream then restarted: every record stored exactly once', async () => {
    const f = await fixture('cli-kill');
    fixtures.push(f);
    const total = 40_000;
    const args = collectorArgs(f, '--connection-name', f.connectionName);
    // Declare the topology, then fill the queue while no collector runs.
    const first = logcollect(args);
    await waitUntil('declared', () => first.stderr().includes('"consuming"'));
    expect(await stopBin(first)).toBe(0);
    await publish(f.connection, f.exchange, ndjsonMessages('kill', total, 20));

    const victim = logcollect([...args, '--batch-records', '500']);
    await waitUntil('some batches committed', () => maxSeq(f.dbPath) > 2_000, 30_000);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const before = countRows(f.dbPath).rows;
    expect(before).toBeLessThan(total);

    const again = logcollect(args);
    await waitUntil('all stored after restart', () => countRows(f.dbPath).rows >= total, 60_000);
    expect(await stopBin(again)).toBe(0);
    expect(countRows(f.dbPath)).toEqual({ rows: total, ids: total });
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(0);
  });
  it('over a real socket, answers only loopback Host names unless --allow-host adds one', async () => {
    const f = await fixture('cli-host');
    fixtures.push(f);
    const port = await freePort();
    const child = logcollect([
      ...collectorArgs(f),
      '--listen',
      `127.0.0.1:${port}`,
      '--allow-host',
      'logs.test',
    ]);
    await waitUntil('consuming', () => child.stderr().includes('"consuming"'));
    const status = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(await status(`logs.test:${port}`)).toBe(200);
    expect(await status(`rebound.example:${port}`)).toBe(403);
    expect(await stopBin(child)).toBe(0);
  });

  it('restarted with a narrower --bind, removes the bindings it no longer wants and says so', async () => {
    const f = await fixture('cli-narrow');
    fixtures.push(f);
    const wide = logcollect([...collectorArgs(f), '--bind', '#']);
    await waitUntil('consuming with #', () => wide.stderr().includes('"consuming"'));
    expect(await stopBin(wide)).toBe(0);
    // What a collector from before `<exchange>.collect` left: `#` bound on the main exchange itself.
    await withChannel('cli-narrow', (channel) => channel.bindQueue(`${f.exchange}.archive`, f.exchange, '#'));
    const narrow = logcollect([...collectorArgs(f), '--bind', 'kern.*']);
    await waitUntil('the change said', () => narrow.stderr().includes('bindings changed'));
    const said =
      narrow
        .stderr()
        .split('\n')
        .find((line) => line.includes('bindings changed')) ?? '';
    expect(JSON.parse(said)).toMatchObject({ removed: ['#'], added: ['kern.*'] });
    expect(await stopBin(narrow)).toBe(0);
    // With no collector running, what the broker does with each key shows the bindings left.
    await publish(f.connection, f.exchange, [
      { key: 'kern.info', body: 'still archived' },
      { key: 'app.info', body: 'no longer archived' },
    ]);
    expect(await queueDepth(`${f.exchange}.archive`)).toBe(1);
    expect(await queueDepth(`${f.exchange}.unrouted`)).toBe(1);
  });

  describe('a second collector', () => {
    // Declares the topology with a first run, then fills the queue while no collector consumes.
    async function filledQueue(area: string, total: number): Promise<{ f: Fixture; args: string[] }> {
      const f = await fixture(area);
      fixtures.push(f);
      const args = collectorArgs(f);
      const first = logcollect(args);
      await waitUntil('declared', () => first.stderr().includes('"consuming"'));
      expect(await stopBin(first)).toBe(0);
      await publish(f.connection, f.exchange, ndjsonMessages(area, total, 50));
      return { f, args };
    }

    it('on the same store fails in one line, exit 1, and consumes nothing', async () => {
      const { f, args } = await filledQueue('cli-lock', 2_000);
      const depth = await queueDepth(`${f.exchange}.archive`);
      // Another collector (of another exchange) owns the store.
      const owner = logcollect([
        ...['--amqp', AMQP_URL, '--exchange', `${f.exchange}-owner`],
        ...['--db', f.dbPath, '--listen', '127.0.0.1:0'],
      ]);
      await waitUntil('the owner consumes', () => owner.stderr().includes('"consuming"'));
      const second = logcollect(args);
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toMatch(/^logcollect: the store .*warren\.db is in use by another logcollect/);
      expect(second.stderr()).not.toContain('consuming');
      expect(await queueDepth(`${f.exchange}.archive`)).toBe(depth);
      expect(await stopBin(owner)).toBe(0);
      await deleteTopology(`${f.exchange}-owner`);
    });

    it('that cannot listen fails with exit 2 before it consumes anything', async () => {
      const { f } = await filledQueue('cli-port', 1_000);
      const depth = await queueDepth(`${f.exchange}.archive`);
      expect(depth).toBeGreaterThan(0);
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const { port } = busy.address() as AddressInfo;
      try {
        const other = path.join(f.dir, 'other.db');
        const second = logcollect([
          '--amqp',
          AMQP_URL,
          '--exchange',
          f.exchange,
          '--db',
          other,
          '--listen',
          `127.0.0.1:${port}`,
        ]);
        expect(await second.exited).toBe(2);
        expect(second.stderr()).toMatch(/^logcollect: cannot listen on 127\.0\.0\.1:\d+/);
        expect(second.stderr()).not.toContain('consuming');
        expect(await queueDepth(`${f.exchange}.archive`)).toBe(depth);
        expect(countRows(other).rows).toBe(0);
      } finally {
        await new Promise<void>((resolve) => busy.close(() => resolve()));
      }
    });

    it('after a SIGKILL, the next collector takes the store at once (the OS dropped the lock)', async () => {
      const f = await fixture('cli-relock');
      fixtures.push(f);
      const victim = logcollect(collectorArgs(f));
      await waitUntil('consuming', () => victim.stderr().includes('"consuming"'));
      victim.child.kill('SIGKILL');
      await victim.exited;
      const again = logcollect(collectorArgs(f));
      await waitUntil('consuming again', () => again.stderr().includes('"consuming"'));
      expect(await stopBin(again)).toBe(0);
    });
  });
});
