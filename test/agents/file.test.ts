import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../agents/agent.js';
import { parseAgentArgs } from '../../agents/options.js';
import { AMQP_URL } from '../../testkit/broker.js';
import { tempDir } from '../../testkit/temp.js';
import { useCleanups } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';
import { createSink, silentLogger, type Sink } from './helpers.js';

const cleanup = useCleanups();

async function sinkAndDir(): Promise<{ sink: Sink; dir: string }> {
  const sink = await createSink('agents-file');
  cleanup(() => sink.close());
  const { dir, remove: removeDir } = tempDir('agents');
  cleanup(removeDir);
  return { sink, dir };
}

async function startAgent(sink: Sink, dir: string, args: string[]): Promise<Agent> {
  const config = parseAgentArgs(
    [
      '--amqp',
      AMQP_URL,
      '--exchange',
      sink.exchange,
      '--spool',
      path.join(dir, 'spool'),
      '--no-multiline',
      ...args,
    ],
    {},
  );
  const agent = createAgent(config, silentLogger);
  cleanup(async () => void (await agent.close()));
  await agent.start();
  return agent;
}

const msgs = (sink: Sink): string[] => sink.received.map((r) => r.record.msg);
const range = (from: number, to: number, prefix = 'line'): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix} ${from + i}`);

function append(file: string, lines: string[]): void {
  fs.appendFileSync(file, lines.map((l) => `${l}\n`).join(''));
}

describe('file input', () => {
  it('follows a file through rename rotation while it is being written: every line once, in order', async () => {
    const { sink, dir } = await sinkAndDir();
    const file = path.join(dir, 'app.log');
    append(file, range(0, 100));
    await startAgent(sink, dir, ['--file', file, '--from-start', '--facility', 'app']);
    for (let i = 100; i < 1000; i += 50) {
      append(file, range(i, i + 50));
      if (i === 500) {
        // logrotate's default: rename, then the application opens a new file.
        fs.renameSync(file, `${file}.1`);
        append(`${file}.1`, range(550, 560, 'late'));
        fs.writeFileSync(file, '');
      }
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await sink.waitFor((r) => r.length >= 1010);
    const lines = msgs(sink).filter((m) => m.startsWith('line'));
    expect(lines).toEqual(range(0, 1000));
    // What the old file got after the rename is not lost either.
    expect(msgs(sink).filter((m) => m.startsWith('late'))).toEqual(range(550, 560, 'late'));
    expect(sink.received.every((r) => r.key === 'app.info')).toBe(true);
  });

  it('starts over after copytruncate rotation', async () => {
    const { sink, dir } = await sinkAndDir();
    const file = path.join(dir, 'app.log');
    append(file, range(0, 50));
    await startAgent(sink, dir, ['--file', file, '--from-start']);
    await sink.waitFor((r) => r.length >= 50);
    // logrotate copytruncate: copy away, then cut the live file to zero and keep writing.
    fs.copyFileSync(file, `${file}.1`);
    fs.truncateSync(file, 0);
    append(file, range(50, 60));
    await sink.waitFor((r) => r.length >= 60);
    expect(msgs(sink)).toEqual(range(0, 60));
  });

  it('starts at the end of an existing file by default', async () => {
    const { sink, dir } = await sinkAndDir();
    const file = path.join(dir, 'old.log');
    append(file, range(0, 20, 'old'));
    const agent = await startAgent(sink, dir, ['--file', file]);
    append(file, range(0, 5, 'new'));
    await waitUntil('read', () => agent.shipper.stats.read >= 5);
    await agent.close();
    await sink.waitFor((r) => r.length >= 5);
    expect(msgs(sink)).toEqual(range(0, 5, 'new'));
  });

  it('keeps its position across a restart: nothing repeated, nothing skipped', async () => {
    const { sink, dir } = await sinkAndDir();
    const file = path.join(dir, 'app.log');
    append(file, range(0, 100));
    const first = await startAgent(sink, dir, ['--file', file, '--from-start']);
    await waitUntil('first run read', () => first.shipper.stats.read >= 100);
    append(file, range(100, 110));
    await waitUntil('first run read more', () => first.shipper.stats.read >= 110);
    expect((await first.close()).lost).toBe(0);
    // Written while no agent runs; a restart must pick up exactly here.
    append(file, range(110, 200));
    const second = await startAgent(sink, dir, ['--file', file, '--from-start']);
    await waitUntil('second run read', () => second.shipper.stats.read >= 90);
    await second.close();
    await sink.waitFor((r) => r.length >= 200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sink.take();
    expect(msgs(sink)).toEqual(range(0, 200));
    expect(second.shipper.stats.read).toBe(90);
  });

  it('saves its position within moments of the broker confirming, so a kill then would not send those lines again', async () => {
    const { sink, dir } = await sinkAndDir();
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    const agent = await startAgent(sink, dir, ['--file', file, '--from-start']);
    const savedOffset = (): number | undefined => {
      try {
        const saved = JSON.parse(fs.readFileSync(path.join(dir, 'spool', 'files.json'), 'utf8')) as Record<
          string,
          { offset: number } | undefined
        >;
        return saved[file]?.offset;
      } catch {
        return undefined;
      }
    };
    // Rounds at varied moments: a once-a-second save would miss about half of the 600 ms allowances.
    for (const [round, pauseMs] of [0, 170, 330, 90, 260, 410].entries()) {
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      append(file, range(round * 10, round * 10 + 10));
      const size = fs.statSync(file).size;
      await waitUntil('confirmed', () => agent.shipper.stats.confirmed >= (round + 1) * 10);
      await waitUntil(`round ${round}'s position saved`, () => savedOffset() === size, 600, 10);
    }
  });

  it.each([
    ['the followed name', (file: string) => file],
    ['a glob that also matches the rotated name', (file: string) => `${file}*`],
  ])(
    'finishes a file rotated while stopped before the new one (%s): every line once, in order',
    async (_, follow) => {
      const { sink, dir } = await sinkAndDir();
      const file = path.join(dir, 'app.log');
      append(file, range(0, 10));
      const first = await startAgent(sink, dir, ['--file', follow(file), '--from-start']);
      await waitUntil('first run read', () => first.shipper.stats.read >= 10);
      expect((await first.close()).lost).toBe(0);
      // While no agent runs: more lines, logrotate's rename, and the application's new file.
      append(file, range(10, 20));
      fs.renameSync(file, `${file}.1`);
      append(file, range(20, 30));
      const second = await startAgent(sink, dir, ['--file', follow(file), '--from-start']);
      await waitUntil('second run read', () => second.shipper.stats.read >= 20);
      // Long enough for the glob (every 2 s) to find app.log.1 and not read it again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await second.close();
      await sink.waitFor((r) => r.length >= 30);
      await sink.take();
      expect(msgs(sink)).toEqual(range(0, 30));
      expect(second.shipper.stats.read).toBe(20);
    },
  );

  it('does not read a rotated file again when the glob also matches its new name', async () => {
    const { sink, dir } = await sinkAndDir();
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    const file = path.join(logs, 'app.log');
    append(file, range(0, 10));
    const agent = await startAgent(sink, dir, ['--file', path.join(logs, 'app.log*'), '--from-start']);
    await sink.waitFor((r) => r.length >= 10);
    fs.renameSync(file, `${file}.1`);
    append(file, range(10, 20));
    await sink.waitFor((r) => r.length >= 20);
    // Give the glob (every 2 s) time to find app.log.1.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    append(`${file}.1`, ['late line']);
    await sink.waitFor((r) => r.length >= 21, 5_000);
    await agent.close();
    await sink.take();
    expect(msgs(sink).filter((m) => m.startsWith('line'))).toEqual(range(0, 20));
    expect(msgs(sink).filter((m) => m === 'late line')).toHaveLength(1);
  });

  it('finds files matching a glob, including ones created later (read from their start)', async () => {
    const { sink, dir } = await sinkAndDir();
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    append(path.join(logs, 'a.log'), ['a before start']);
    append(path.join(logs, 'ignored.txt'), ['not a log']);
    const agent = await startAgent(sink, dir, ['--file', path.join(logs, '*.log')]);
    append(path.join(logs, 'a.log'), ['a after start']);
    append(path.join(logs, 'b.log'), ['b one', 'b two']);
    await sink.waitFor((r) => r.length >= 3, 10_000);
    await agent.close();
    expect(msgs(sink).sort()).toEqual(['a after start', 'b one', 'b two']);
  });
});
