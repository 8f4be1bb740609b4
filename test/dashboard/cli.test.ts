import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareExchanges, topologyNames } from '../../protocol/index.js';
import { fakeApi, publishRecord } from './helpers.js';
import { AMQP_URL, deleteTopology, uniqueName } from '../../testkit/broker.js';
import { freePort } from '../../testkit/net.js';
import { waitUntil } from '../../testkit/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/logtail.js');

let connection: ChannelModel;
const exchanges: string[] = [];

beforeAll(async () => {
  // The real binary runs the compiled CLI (`npm run build`); build it if this checkout has not.
  if (!fs.existsSync(path.join(root, 'dist/dashboard/cli.js'))) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  connection = await amqp.connect(AMQP_URL);
}, 120_000);

afterAll(async () => {
  for (const e of exchanges) await deleteTopology(e);
  await connection.close();
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function logtail(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, AMQP_URL, NO_COLOR: '', WARREN_API: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

function lines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/** Publishes probes until the tail prints one: then it is certainly bound. */
async function untilBound(run: Run, exchange: string, key: string): Promise<void> {
  // Declared here too (idempotent, same arguments), so a probe never hits a missing exchange.
  await declareExchanges(connection, topologyNames(exchange));
  for (let i = 0; i < 100 && !run.stdout().includes('"probe"'); i++) {
    await publishRecord(connection, exchange, key, { msg: 'probe', id: `probe-${i}` });
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitUntil('the tail to print a probe', () => run.stdout().includes('"probe"'));
}

describe('the logtail binary', () => {
  it('prints a record published after it started as NDJSON in a pipe, and exits 0 on Ctrl-C', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const run = logtail(['--exchange', exchange, '*.critical']);
    await untilBound(run, exchange, 'kern.critical');
    const record = {
      id: 'web-01:4f2a:1207',
      ts: '2026-11-21T22:33:54.123Z',
      host: 'web-01',
      app: 'api',
      pid: 4121,
      msg: 'disk failure on sda',
      fields: { disk: 'sda' },
    };
    await publishRecord(connection, exchange, 'kern.info', { msg: 'not bound' });
    await publishRecord(connection, exchange, 'kern.critical', record);
    await waitUntil('the record on stdout', () => run.stdout().includes('disk failure on sda'));
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    const printed = lines(run.stdout()).filter((r) => (r as { msg: string }).msg !== 'probe');
    expect(printed).toEqual([
      { ...record, facility: 'kern', severity: 'critical', routing_key: 'kern.critical' },
    ]);
    expect(run.stderr()).toBe('');
  });

  it('rejects an invalid pattern with exit 2 and one clear message, before connecting', async () => {
    const run = logtail(['--amqp', 'amqp://guest:guest@127.0.0.1:1', 'kern.*', '*.crit+x+']);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(
      /^logtail: invalid pattern '\*\.crit\+x\+': 'crit\+x\+' is not a severity range/,
    );
    expect(run.stderr()).not.toMatch(/at .*\.js:\d+/);
    expect(run.stdout()).toBe('');
  });

  it('--version prints the version and exits 0, for all three commands', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const command of ['logtail', 'logcollect', 'logship']) {
      const run = spawnSync(process.execPath, [path.join(root, 'bin', `${command}.js`), '--version'], {
        encoding: 'utf8',
      });
      expect([command, run.status, run.stdout.trim()]).toEqual([command, 0, version]);
    }
  });

  it('--until asks the API for the window since..until and exits; without --since it is a usage error', async () => {
    const api = await fakeApi(() => Promise.resolve({ body: { records: [], next: null } }));
    try {
      const run = logtail(['--since', '2h', '--until', '1h', '--api', api.url, 'kern.*']);
      expect(await run.exit).toBe(0);
      const asked = api.requests[0];
      const since = Date.parse(asked?.searchParams.get('since') ?? '');
      const until = Date.parse(asked?.searchParams.get('until') ?? '');
      expect(Math.round((until - since) / 60_000)).toBe(60);
      const bad = logtail(['--until', '1h', '--api', api.url]);
      expect(await bad.exit).toBe(2);
      expect(bad.stderr()).toMatch(/^logtail: --until ends a window of history, so it needs --since\n/);
    } finally {
      await api.close();
    }
  });

  it('-n prints the newest N records oldest first (then would follow); with --no-follow it exits', async () => {
    const newestFirst = ['c', 'b'].map((id, i) => ({
      id,
      ts: `2026-11-21T22:00:0${2 - i}.000Z`,
      facility: 'kern',
      severity: 'error',
      msg: `line ${id}`,
      routing_key: 'kern.error',
    }));
    const api = await fakeApi(() =>
      Promise.resolve({ body: { records: newestFirst, next: null, stream_cursor: '7' } }),
    );
    try {
      const run = logtail(['-n', '2', '--no-follow', '--api', api.url, 'kern.*']);
      expect(await run.exit).toBe(0);
      expect(lines(run.stdout()).map((r) => (r as { id: string }).id)).toEqual(['b', 'c']);
      const asked = api.requests[0];
      expect([asked?.searchParams.get('order'), asked?.searchParams.get('limit')]).toEqual(['desc', '2']);
      const bad = logtail(['-n', '0', '--api', api.url]);
      expect(await bad.exit).toBe(2);
      expect(bad.stderr()).toMatch(/^logtail: -n must be a positive whole number/);
    } finally {
      await api.close();
    }
  });

  it('--explain prints the bindings and exits 0', async () => {
    const run = logtail(['--explain', 'kern.crit', '*.warning+', '#.rabbit']);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toBe(
      [
        'kern.critical  →  kern.critical, kern.crit, kern.fatal, KERN.CRITICAL, KERN.CRIT, KERN.FATAL',
        '*.warning+  →  *.emergency, *.emerg, *.panic, *.alert, *.critical, *.crit, *.fatal, *.error, *.err, *.warning, *.warn, *.EMERGENCY, *.EMERG, *.PANIC, *.ALERT, *.CRITICAL, *.CRIT, *.FATAL, *.ERROR, *.ERR, *.WARNING, *.WARN',
        '#.rabbit  →  #.rabbit',
        '',
      ].join('\n'),
    );
  });

  it('--no-follow prints the history from the API (with the bearer token and -q) and exits 0', async () => {
    const api = await fakeApi((url, req) => {
      const authorised = req.headers.authorization === 'Bearer s3cret';
      if (!authorised)
        return Promise.resolve({
          status: 401,
          body: { error: { code: 'UNAUTHORIZED', message: 'bad token' } },
        });
      const records = [
        {
          id: 'a',
          ts: '2026-11-21T22:00:00.000Z',
          facility: 'kern',
          severity: 'error',
          msg: 'timeout on sda',
          routing_key: 'kern.error',
        },
        {
          id: 'b',
          ts: '2026-11-21T22:00:01.000Z',
          facility: 'kern',
          severity: 'critical',
          msg: 'timeout again',
          routing_key: 'kern.critical',
        },
      ];
      return Promise.resolve({
        body: { records: url.searchParams.get('q') === 'timeout' ? records : [], next: null },
      });
    });
    try {
      const run = logtail(
        ['--since', '1h', '--no-follow', '-q', 'timeout', '--api', api.url, 'kern.error+'],
        {
          WARREN_TOKEN: 's3cret',
        },
      );
      expect(await run.exit).toBe(0);
      expect(lines(run.stdout()).map((r) => (r as { id: string }).id)).toEqual(['a', 'b']);
      expect(api.requests[0]?.searchParams.getAll('pattern')).toEqual(['kern.error+']);
      const bad = logtail(['--since', '1h', '--no-follow', '--api', api.url], { WARREN_TOKEN: 'wrong' });
      expect(await bad.exit).toBe(1);
      expect(bad.stderr()).toMatch(/refused access \(bad token\)\n {2}set WARREN_TOKEN/);
    } finally {
      await api.close();
    }
  });

  it('says in one line what to do when the API is unreachable with --since, or the broker is', async () => {
    const exchange = uniqueName('test-dashboard');
    exchanges.push(exchange);
    const port = await freePort();
    const noApi = logtail(['--exchange', exchange, '--since', '15m', '--api', `http://127.0.0.1:${port}`]);
    expect(await noApi.exit).toBe(1);
    expect(noApi.stderr()).toBe(
      `logtail: cannot reach the Warren API at http://127.0.0.1:${port} (ECONNREFUSED)\n` +
        '  start the collector (logcollect serves the API), point --api / WARREN_API at it, or drop --since to tail live only\n',
    );
    const noBroker = logtail(['--amqp', 'amqp://guest:guest@127.0.0.1:1']);
    expect(await noBroker.exit).toBe(1);
    expect(noBroker.stderr()).toMatch(
      /^logtail: cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/,
    );
    const usage = logtail(['--no-follow']);
    expect(await usage.exit).toBe(2);
  });

  it('prints coloured text lines with --text --color always, and none with NO_COLOR', async () => {
    const api = await fakeApi(() =>
      Promise.resolve({
        body: {
          records: [
            {
              id: 'x',
              ts: '2026-11-21T22:00:00.000Z',
              facility: 'kern',
              severity: 'error',
              msg: 'red line',
              routing_key: 'kern.error',
            },
          ],
          next: null,
        },
      }),
    );
    try {
      const coloured = logtail([
        '--since',
        '1h',
        '--no-follow',
        '--text',
        '--color',
        'always',
        '--api',
        api.url,
      ]);
      expect(await coloured.exit).toBe(0);
      expect(coloured.stdout()).toContain('\u001b[31m');
      const plain = logtail(['--since', '1h', '--no-follow', '--text', '--api', api.url], { NO_COLOR: '1' });
      expect(await plain.exit).toBe(0);
      expect(plain.stdout()).toMatch(/kern {5}error {5}red line\n$/);
      expect(plain.stdout()).not.toContain('\u001b[');
    } finally {
      await api.close();
    }
  });
});
