import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../testkit/net.js';
import { runBin, type RunningBin, runNode, type RunOptions } from '../../testkit/processes.js';
import { AMQP_URL, deleteTopology, uniqueName } from '../../testkit/broker.js';
import { tempDir } from '../../testkit/temp.js';
import { useCleanups } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';
import { createSink, dedupe, orderOf, type Sink } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** A small application that logs through Warren's pino transport (by its package name) and then simply ends. */
const PINO_APP = `
import pino from 'pino';
const [exchange, spool, count] = process.argv.slice(1);
const transport = pino.transport({
  target: 'warren/agents/pino-transport',
  options: { amqp: process.env.AMQP_URL, exchange, spool },
});
const logger = pino({ name: 'pino-app' }, transport);
for (let i = 0; i < Number(count); i++) logger.info({ i }, 'message ' + i);
logger.warn({ disk: 'sda' }, 'disk almost full');
logger.error(new Error('boom'), 'request failed');
`;

const cleanup = useCleanups();

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'agents', 'cli.js'))) {
    throw new Error('dist/agents is missing: run `npm run build` before these tests');
  }
});

/** In the package root (its package.json resolves 'warren/…' and names the app), with the test broker; each test writes and ends stdin. */
const CHILD_OPTIONS: RunOptions = { cwd: root, env: { AMQP_URL }, keepStdinOpen: true };

/** Kills the child after the test if it is still running. */
function killAfterTest(run: RunningBin): RunningBin {
  cleanup(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  });
  return run;
}

function logship(args: string[]): RunningBin {
  return killAfterTest(runBin('logship', args, CHILD_OPTIONS));
}

async function setup(): Promise<{ sink: Sink; dir: string }> {
  const sink = await createSink('agents-cli');
  cleanup(() => sink.close());
  const { dir, remove: removeDir } = tempDir('agents');
  cleanup(removeDir);
  return { sink, dir };
}

/** A broker URL nobody listens on, so logship finds the broker unreachable. */
async function closedPortUrl(): Promise<string> {
  return `amqp://guest:guest@127.0.0.1:${await freePort()}`;
}

/** Asks logship for its stats (SIGUSR1) until they say `spooled=<count>`. */
async function untilSpooled(agent: RunningBin, count: number, what: string): Promise<void> {
  await waitUntil(
    what,
    async () => {
      agent.child.kill('SIGUSR1');
      await new Promise((resolve) => setTimeout(resolve, 100));
      return new RegExp(`spooled=${count} `).test(agent.stderr());
    },
    20_000,
  );
}

function lines(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += `line ${i}\n`;
  return text;
}

describe('logship (bin/logship.js as a child process)', () => {
  it('echo "disk failure" | logship --facility kern --severity crit publishes one kern.critical record and exits 0', async () => {
    const { sink, dir } = await setup();
    const agent = logship([
      '--exchange',
      sink.exchange,
      '--spool',
      dir,
      '--facility',
      'kern',
      '--severity',
      'crit',
    ]);
    agent.child.stdin!.end('disk failure\n');
    expect(await agent.exited).toBe(0);
    // Exit means confirmed: the record is already in the queue.
    const received = await sink.take();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      key: 'kern.critical',
      contentType: 'application/x-ndjson',
      record: { msg: 'disk failure', app: 'kern' },
    });
    // Facility and severity travel as the routing key only, the id as the message id (CONTRACT §4).
    expect(Object.keys(received[0]!.record)).toEqual(['ts', 'host', 'app', 'pid', 'msg']);
    expect(received[0]!.messageId).toMatch(/^[a-z0-9_-]+:[0-9a-z]{13}:\d+$/);
    expect(agent.stderr()).toBe('');
  });

  it('rejects a bad --facility with one clear line and exit code 2', async () => {
    const { dir: spool, remove: removeSpool } = tempDir('agents');
    cleanup(removeSpool);
    const agent = logship(['--facility', 'Not Valid!', '--spool', spool]);
    agent.child.stdin!.end();
    expect(await agent.exited).toBe(2);
    expect(agent.stderr()).toMatch(
      /^logship: invalid facility 'Not Valid!'\n {2}a facility is 1 to 32 characters/,
    );
    expect(agent.stderr()).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('says in one line when the spool directory cannot be made, instead of spinning (/proc)', async () => {
    const agent = logship(['--spool', '/proc/warren-test/spool']);
    agent.child.stdin!.end('one line\n');
    expect(await agent.exited).toBe(2);
    expect(agent.stderr()).toMatch(
      /^logship: cannot create the spool directory \/proc\/warren-test\/spool: ENOENT/,
    );
    expect(agent.stderr()).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('fails fast (exit 1, one clear error) on a wrong password, an unknown vhost or TLS against the plain port', async () => {
    const { dir: spool, remove: removeSpool } = tempDir('agents');
    cleanup(removeSpool);
    const url = (change: (u: URL) => void): string => {
      const u = new URL(AMQP_URL);
      change(u);
      return u.toString();
    };
    const cases: [string, RegExp][] = [
      [
        url((u) => (u.password = 'not-the-password')),
        /^logship: RabbitMQ at \S+ refused the login\n {2}check the user/,
      ],
      [
        url((u) => (u.pathname = `/${uniqueName('test-no-such-vhost')}`)),
        /^logship: RabbitMQ at \S+ refused the virtual host '[\w.-]+'\n {2}fix the vhost/,
      ],
      [
        url((u) => (u.protocol = 'amqps:')),
        /^logship: TLS with RabbitMQ at \S+ failed \(\w+\)\n {2}amqps:\/\/ needs/,
      ],
    ];
    for (const [amqp, expected] of cases) {
      const agent = logship(['--amqp', amqp, '--spool', spool]);
      agent.child.stdin!.end('must not be reported as shipped\n');
      expect(await agent.exited).toBe(1);
      expect(agent.stderr()).toMatch(expected);
      expect(agent.stderr().trim().split('\n')).toHaveLength(2);
      expect(agent.stderr()).not.toContain('not-the-password');
    }
  });

  it('warns when no collector serves the exchange (a typo in --exchange), and still delivers', async () => {
    const { sink, dir } = await setup();
    const typo = `${sink.exchange}-typo`;
    cleanup(async () => {
      await deleteTopology(typo);
    });
    const agent = logship(['--exchange', typo, '--spool', dir]);
    agent.child.stdin!.end('parked\n');
    expect(await agent.exited).toBe(0);
    expect(agent.stderr()).toContain(
      `no collector serves the exchange '${typo}' (the queue ${typo}.archive does not exist): records park in ${typo}.unrouted`,
    );
  });

  it('prints complete help with examples', async () => {
    const agent = logship(['--help']);
    expect(await agent.exited).toBe(0);
    const help = agent.stdout();
    for (const flag of [
      '--file',
      '--from-start',
      '--syslog',
      '--spool',
      '--spool-max',
      '--multiline',
      '--max-line',
      '--batch-records',
      '--batch-bytes',
      '--linger',
      '--window',
      '--amqp',
      '--exchange',
      'Examples:',
      'SIGUSR1',
    ]) {
      expect(help).toContain(flag);
    }
    expect(agent.stderr()).toBe('');
  });

  it('spools when the broker is unreachable, says so, and delivers on the next start; SIGKILL loses nothing spooled', async () => {
    const { sink, dir } = await setup();
    const down = await closedPortUrl();
    const spool = path.join(dir, 'spool');
    // First run: stdin ends normally, everything is spooled, exit 0.
    const first = logship([
      '--amqp',
      down,
      '--exchange',
      sink.exchange,
      '--spool',
      spool,
      '--facility',
      'app',
    ]);
    first.child.stdin!.end(lines(0, 1000));
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain('spooling to disk');
    expect(first.stderr()).toMatch(/left in the spool .*delivered on the next start/);
    // Second run: killed with SIGKILL once its records are spooled (asked via SIGUSR1).
    const second = logship([
      '--amqp',
      down,
      '--exchange',
      sink.exchange,
      '--spool',
      spool,
      '--facility',
      'app',
    ]);
    second.child.stdin!.write(lines(1000, 3000));
    // SIGUSR1 before logship installs its handler would start Node's inspector instead.
    await waitUntil('the second run to start spooling', () => second.stderr().includes('spooling to disk'));
    await untilSpooled(second, 2000, 'the second run to spool its records');
    // fsync'd in batches at most 100 ms apart.
    await new Promise((resolve) => setTimeout(resolve, 300));
    second.child.kill('SIGKILL');
    await second.exited;
    // Third run, broker back: both earlier runs' records are delivered, in order.
    const third = logship(['--exchange', sink.exchange, '--spool', spool, '--facility', 'app']);
    third.child.stdin!.end();
    expect(await third.exited).toBe(0);
    const all = await sink.take();
    // A record sent twice (spooled, then replayed) has one id, so the collector's dedupe keeps one.
    const msgOf = new Map<string, string>();
    for (const r of all) {
      const first = msgOf.get(r.id);
      if (first === undefined) msgOf.set(r.id, r.record.msg);
      else expect(r.record.msg).toBe(first);
    }
    const received = dedupe(all);
    expect(received.map((r) => r.record.msg).sort()).toEqual(lines(0, 3000).trim().split('\n').sort());
    // In order per key: within the run that wrote them, first arrivals ascend.
    const firstRun = received
      .filter((r) => Number(r.record.msg.split(' ')[1]) < 1000)
      .map((r) => orderOf(r.id));
    expect(firstRun).toEqual([...firstRun].sort((a, b) => a - b));
  });

  it('following a file, SIGKILL with the broker away neither repeats nor skips a line after restart', async () => {
    const { sink, dir } = await setup();
    const file = path.join(dir, 'app.log');
    const spool = path.join(dir, 'spool');
    fs.writeFileSync(file, lines(0, 1000));
    const args = [
      '--exchange',
      sink.exchange,
      '--spool',
      spool,
      '--file',
      file,
      '--from-start',
      '--facility',
      'app',
    ];
    const first = logship(['--amqp', await closedPortUrl(), ...args]);
    await waitUntil('spooling', () => first.stderr().includes('spooling to disk'));
    await untilSpooled(first, 1000, 'every line read and spooled');
    // Positions are saved every second, covering only what is confirmed or fsync'd.
    const end = Buffer.byteLength(lines(0, 1000));
    await waitUntil(
      'the position of the last line saved',
      () => {
        try {
          const saved = JSON.parse(fs.readFileSync(path.join(spool, 'files.json'), 'utf8')) as Record<
            string,
            { offset: number }
          >;
          return saved[file]?.offset === end;
        } catch {
          return false;
        }
      },
      5_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    fs.appendFileSync(file, lines(1000, 1500));
    const second = logship(args);
    await sink.waitFor((r) => dedupe(r).length >= 1500, 15_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await sink.take();
    const msgs = dedupe(sink.received).map((r) => r.record.msg);
    expect(msgs.length).toBe(1500);
    expect([...msgs].sort()).toEqual(lines(0, 1500).trim().split('\n').sort());
  });

  it('flushes and exits 0 on SIGTERM while stdin is still open', async () => {
    const { sink, dir } = await setup();
    const agent = logship(['--exchange', sink.exchange, '--spool', dir, '--facility', 'app', '--verbose']);
    agent.child.stdin!.write(lines(0, 500));
    await waitUntil('connected', () => agent.stderr().includes('connected to RabbitMQ'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.stderr()).toContain('SIGTERM: flushing');
    expect(agent.stderr()).toMatch(/read=500 published=500 confirmed=500 /);
    expect(await sink.take()).toHaveLength(500);
  });

  it('the pino transport delivers every record of an application that logs and simply ends', async () => {
    const { sink, dir } = await setup();
    // Run inside the package, so 'warren/agents/pino-transport' resolves as it does for an installed warren.
    const app = killAfterTest(
      runNode(
        ['--input-type=module', '-e', PINO_APP, sink.exchange, path.join(dir, 'spool'), '1000'],
        CHILD_OPTIONS,
      ),
    );
    expect(await app.exited).toBe(0);
    const received = await sink.waitFor((r) => r.length >= 1002, 5_000);
    expect(received).toHaveLength(1002);
    const keys = new Map<string, number>();
    for (const r of received) keys.set(r.key, (keys.get(r.key) ?? 0) + 1);
    expect(Object.fromEntries(keys)).toEqual({
      'pino-app.info': 1000,
      'pino-app.warning': 1,
      'pino-app.error': 1,
    });
    const error = received.find((r) => r.key === 'pino-app.error')!;
    expect(error.record).toMatchObject({ msg: 'request failed', app: 'pino-app' });
    expect((error.record.fields as { err: { message: string } }).err.message).toBe('boom');
    expect(received.find((r) => r.key === 'pino-app.warning')!.record.fields).toEqual({ disk: 'sda' });
  });
});
