import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareExchanges, topologyNames } from '../../protocol/index.js';
import { publishRecord } from './helpers.js';
import { AMQP_URL, deleteTopology, uniqueName } from '../../testkit/broker.js';
import { startCollector, stopBin } from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
// A private tmux server, so the test neither sees nor disturbs anyone else's sessions.
const socket = `warren-test-${randomBytes(4).toString('hex')}`;
const tmux = (...args: string[]): string =>
  execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = (escapes = false): string =>
  tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'tail');

let connection: ChannelModel;
const exchange = uniqueName('test-dashboard');

beforeAll(async () => {
  if (!fs.existsSync(path.join(root, 'dist/dashboard/cli.js'))) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  connection = await amqp.connect(AMQP_URL);
  await declareExchanges(connection, topologyNames(exchange));
}, 120_000);

afterAll(async () => {
  if (hasTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
  await deleteTopology(exchange);
  await connection.close();
});

describe.skipIf(!hasTmux)('logtail in a real terminal (tmux)', () => {
  it('draws the screen, colours by severity, pauses, filters and quits with q and exit 0', async () => {
    const command = `cd ${root} && env AMQP_URL=${AMQP_URL} NO_COLOR= TERM=xterm-256color node bin/logtail.js --exchange ${exchange} '*.error+'; echo EXIT=$?; sleep 60`;
    tmux('new-session', '-d', '-s', 'tail', '-x', '120', '-y', '30', command);
    await waitUntil('the header to say live', () => screen().includes('● live'), 15_000);
    expect(screen()).toContain('logtail *.error+');

    await publishRecord(connection, exchange, 'kern.critical', {
      id: 'tty-1',
      msg: 'disk failure on sda',
      host: 'web-01',
      fields: { disk: 'sda' },
    });
    await publishRecord(connection, exchange, 'app.info', { msg: 'not bound here' });
    await waitUntil('the record on screen', () => screen().includes('disk failure on sda'));
    await waitUntil('the counts in the header', () => /crit 1 err 0/.test(screen()));
    const text = screen();
    expect(text).toMatch(/\d\d:\d\d:\d\d\.\d{3} kern {5}critical {2}web-01 disk failure on sda disk=sda/);
    expect(text).not.toContain('not bound here');
    expect(text).toContain('space pause · ↑ scrollback · / filter · s severity · c clear · ? help · q quit');
    // Critical is bold red: the pane's escapes carry both on the message.
    const coloured = screen(true)
      .split('\n')
      .find((l) => l.includes('disk failure on sda'));
    const esc = String.fromCharCode(27);
    expect(coloured).toContain(`${esc}[1m${esc}[31mcritical`);

    tmux('send-keys', '-t', 'tail', ' ');
    await waitUntil('the pause badge', () => screen().includes('PAUSED +0 new'));
    await publishRecord(connection, exchange, 'app.error', { msg: 'while paused' });
    await waitUntil('the +1 badge', () => screen().includes('PAUSED +1 new'));
    expect(screen()).not.toContain('while paused');
    tmux('send-keys', '-t', 'tail', ' ');
    await waitUntil('the held record after follow', () => screen().includes('while paused'));

    tmux('send-keys', '-t', 'tail', '/');
    await waitUntil('the filter prompt', () => screen().includes('filter (text or /regex/'));
    tmux('send-keys', '-t', 'tail', '-l', 'timeout');
    tmux('send-keys', '-t', 'tail', 'Enter');
    await waitUntil('the filter in the status line', () => screen().includes('filter: timeout'));
    await publishRecord(connection, exchange, 'app.error', { msg: 'hidden by filter' });
    await publishRecord(connection, exchange, 'app.error', { msg: 'db timeout' });
    await waitUntil('the matching record', () => screen().includes('db timeout'));
    expect(screen()).not.toContain('hidden by filter');

    tmux('send-keys', '-t', 'tail', 'q');
    await waitUntil('logtail to exit 0', () => screen().includes('EXIT=0'));
    tmux('kill-session', '-t', 'tail');
  });

  it('browses history from --since, selects a line and shows its fields and its context from the collector', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-tty-'));
    const stored = uniqueName('test-dashboard-stored');
    const { collector, api } = await startCollector(stored, dir);
    try {
      const publisher = await amqp.connect(AMQP_URL);
      try {
        for (let i = 1; i <= 40; i++) {
          await publishRecord(publisher, stored, i === 20 ? 'shop.error' : 'shop.info', {
            id: `ctx-${i}`,
            msg: i === 20 ? 'payment declined' : `step ${i}`,
            host: 'web-07',
            app: 'shop',
            fields: i === 20 ? { order: { id: 'A-17' }, amount: 99.5 } : { step: i },
          });
        }
      } finally {
        await publisher.close();
      }
      await waitUntil('the collector to store the 40 records', async () => {
        const body = (await (await fetch(`${api}/api/logs?since=1h&limit=100`)).json()) as {
          records: unknown[];
        };
        return body.records.length === 40;
      });
      const command = `cd ${root} && env AMQP_URL=${AMQP_URL} TERM=xterm-256color node bin/logtail.js --exchange ${stored} --api ${api} --since 1h 'shop.#'; echo EXIT=$?; sleep 60`;
      tmux('new-session', '-d', '-s', 'tail', '-x', '140', '-y', '40', command);
      await waitUntil('the history on screen', () => screen().includes('step 40'), 15_000);
      await waitUntil('the volume bars', () => /^info +.{30} 39$/m.test(screen()));
      expect(screen()).toContain('top facilities shop 40 · hosts web-07 40');

      // Up starts the scrollback at the newest record; the filter finds the error going back.
      tmux('send-keys', '-t', 'tail', 'Up');
      await waitUntil('the scrollback', () => screen().includes('scrollback: 40 of 40 held'));
      tmux('send-keys', '-t', 'tail', '/');
      await waitUntil('the filter prompt', () => screen().includes('filter (text or /regex/'));
      tmux('send-keys', '-t', 'tail', '-l', 'declined');
      tmux('send-keys', '-t', 'tail', 'Enter');
      await waitUntil('the filter', () => screen().includes('n/N: next/previous match of declined'));
      tmux('send-keys', '-t', 'tail', 'N');
      await waitUntil('the cursor on the match', () => /▶• .* payment declined/.test(screen()));
      tmux('send-keys', '-t', 'tail', 'Enter');
      await waitUntil('the context from the collector', () => /^▶ .* payment declined/m.test(screen()));
      const text = screen();
      expect(text).toContain('id        ctx-20');
      expect(text).toContain('key       shop.error  (facility shop, severity error)');
      expect(text).toContain('fields    order.id = A-17');
      expect(text).toContain('          amount = 99.5');
      // Ten lines on each side from the store, in time order.
      expect(text).toMatch(/step 19 step=19\n▶ .* payment declined/);
      expect(text).toMatch(/payment declined .*\n {2}.* step 21 step=21/);

      tmux('send-keys', '-t', 'tail', 'Escape');
      await waitUntil('back in the scrollback', () => screen().includes('scrollback: 20 of 40 held'));
      tmux('send-keys', '-t', 'tail', 'q');
      await waitUntil('logtail to exit 0', () => screen().includes('EXIT=0'));
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-session', '-t', 'tail']);
      await stopBin(collector);
      await deleteTopology(stored);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
