import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import React from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../dashboard/screen.js';
import { initialState } from '../../dashboard/state.js';
import { record } from './helpers.js';
import type * as Testing from 'ink-testing-library';
import type * as AppModule from '../../dashboard/ui/App.js';

// Ink colours through chalk, which decides its colour level when first imported.
process.env.FORCE_COLOR = '1';
let testing: typeof Testing;
let ui: typeof AppModule;

beforeAll(async () => {
  testing = await import('ink-testing-library');
  ui = await import('../../dashboard/ui/App.js');
});

afterEach(() => testing.cleanup());

const E = String.fromCharCode(27);
const ESC = `${E}[`;
const SGR = new RegExp(`${E}\\[[0-9;]*m`, 'g');
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

function mount(color = true): { store: Store; lastFrame: () => string; stdin: { write(s: string): void } } {
  const store = createStore(initialState(['*.critical', 'kern.*'], Date.now()));
  const { lastFrame, stdin } = testing.render(<ui.App store={store} color={color} />);
  return { store, lastFrame: () => lastFrame() ?? '', stdin };
}

const plain = (text: string): string => text.replace(SGR, '');

describe('the Ink screen', () => {
  it('shows the header: patterns, connection state, counts per severity, dropped and top facilities', async () => {
    const { store, lastFrame } = mount();
    store.dispatch({ type: 'connection', status: 'live' });
    store.dispatch({
      type: 'records',
      records: [
        record({ severity: 'critical', facility: 'kern', msg: 'disk failure' }),
        record({ severity: 'error', facility: 'kern' }),
      ],
      now: Date.now(),
    });
    store.dispatch({ type: 'dropped', count: 12 });
    await tick();
    const frame = plain(lastFrame());
    expect(frame).toContain('*.critical kern.*');
    expect(frame).toContain('● live');
    expect(frame).toContain('2 total');
    expect(frame).toContain('12 dropped');
    expect(frame).toMatch(/crit 1 err 1 warn 0/);
    expect(frame).toContain('top: kern 2');
    expect(frame).toContain('disk failure');
    expect(frame).toContain('space pause');
  });

  it('colours the stream by severity, and not at all without colour', async () => {
    const { store, lastFrame } = mount(true);
    store.dispatch({
      type: 'records',
      records: [
        record({ severity: 'error', msg: 'red-one' }),
        record({ severity: 'warning', msg: 'yellow-one' }),
      ],
      now: Date.now(),
    });
    await tick();
    const frame = lastFrame();
    expect(frame).toMatch(new RegExp(`${E}\\[31m[^${E}]*red-one`));
    expect(frame).toMatch(new RegExp(`${E}\\[33mwarning {2}${E}\\[39m[^\\n]*yellow-one`));
    testing.cleanup();
    const bare = mount(false);
    bare.store.dispatch({
      type: 'records',
      records: [record({ severity: 'error', msg: 'red-one' })],
      now: Date.now(),
    });
    await tick();
    expect(bare.lastFrame()).toContain('red-one');
    expect(bare.lastFrame()).not.toContain(`${ESC}31m`);
  });

  it('pauses with space, shows +N new, and follows again', async () => {
    const { store, lastFrame, stdin } = mount();
    stdin.write(' ');
    await tick();
    store.dispatch({
      type: 'records',
      records: [record({ msg: 'held-1' }), record({ msg: 'held-2' })],
      now: Date.now(),
    });
    await tick();
    expect(plain(lastFrame())).toContain('PAUSED +2 new');
    expect(lastFrame()).not.toContain('held-1');
    stdin.write(' ');
    await tick();
    expect(plain(lastFrame())).not.toContain('PAUSED');
    expect(lastFrame()).toContain('held-1');
    expect(lastFrame()).toContain('held-2');
  });

  it('filters live with / and cycles a minimum severity with s', async () => {
    const { store, lastFrame, stdin } = mount();
    stdin.write('/');
    await tick();
    expect(plain(lastFrame())).toContain('filter (text or /regex/');
    for (const ch of 'disk') stdin.write(ch);
    await tick();
    expect(plain(lastFrame())).toContain('> disk');
    stdin.write('\r');
    await tick();
    store.dispatch({
      type: 'records',
      records: [record({ msg: 'disk sda' }), record({ msg: 'cpu hot' })],
      now: Date.now(),
    });
    await tick();
    expect(plain(lastFrame())).toContain('filter: disk');
    expect(lastFrame()).toContain('disk sda');
    expect(lastFrame()).not.toContain('cpu hot');
    stdin.write('s');
    await tick();
    expect(plain(lastFrame())).toContain('min: info');
  });

  it('says when records were skipped to keep up', async () => {
    const store = createStore(
      initialState(['#'], Date.now(), {
        linesPerBatch: 2,
        floodLines: 2,
        pauseBuffer: 10,
        linesPerGeneration: 100,
        facilities: 10,
      }),
    );
    const { lastFrame } = testing.render(<ui.App store={store} color={false} />);
    store.dispatch({
      type: 'records',
      records: [
        record({ severity: 'critical' }),
        record(),
        record({ msg: 'last-a' }),
        record({ msg: 'last-b' }),
      ],
      now: Date.now(),
    });
    await tick();
    const frame = lastFrame() ?? '';
    expect(frame).toContain('2 records skipped to keep up');
    expect(frame).toContain('1 crit, 1 info');
    expect(frame).toContain('2 summarised');
    expect(frame).toContain('last-b');
  });

  it('clears the counts with c', async () => {
    const { store, lastFrame, stdin } = mount();
    store.dispatch({ type: 'records', records: [record(), record()], now: Date.now() });
    await tick();
    expect(plain(lastFrame())).toContain('2 total');
    stdin.write('c');
    await tick();
    expect(plain(lastFrame())).toContain('0 total');
  });
});

describe("Ink's copy of the printed lines", () => {
  it('is bounded: after trimming, only the newest lines are kept (the terminal scrollback has the rest)', () => {
    // Run by plain Node on the compiled code: the trim reaches Ink's own module, which must be the
    // one instance Ink uses (vitest's module runner would load a second copy).
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const script = `
      import { EventEmitter } from 'node:events';
      import React from 'react';
      import { render } from 'ink';
      import { App } from './dist/dashboard/ui/App.js';
      import { boundInkStaticCopy } from './dist/dashboard/ui/ink-static-copy.js';
      import { createStore } from './dist/dashboard/screen.js';
      import { initialState } from './dist/dashboard/state.js';
      const stdout = Object.assign(new EventEmitter(), { columns: 100, rows: 40, frame: '', write(f) { this.frame = f; } });
      const store = createStore(initialState(['#'], Date.now()));
      const noop = () => undefined;
      const stdin = Object.assign(new EventEmitter(), { isTTY: true, setRawMode: noop, setEncoding: noop, resume: noop, pause: noop, ref: noop, unref: noop, read: () => null });
      const ink = render(React.createElement(App, { store, color: false }), { stdout, stdin, debug: true, patchConsole: false, exitOnCtrlC: false });
      const timer = await boundInkStaticCopy(stdout, { max: 2000, keep: 500, everyMs: 10 });
      for (let i = 0; i < 60; i++) {
        store.dispatch({ type: 'records', records: [{ id: 'r' + i, ts: new Date().toISOString(), facility: 'app', severity: 'info', msg: 'line-' + i, routing_key: 'app.info' }], now: Date.now() });
        await new Promise((r) => setTimeout(r, 15));
      }
      clearInterval(timer);
      ink.unmount();
      process.stdout.write(JSON.stringify({ bounded: timer !== undefined, frame: stdout.frame }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      // As the CLI does for a terminal: Ink's CI mode (CI set, as in CI) draws only the last frame.
      env: { ...process.env, NODE_ENV: 'production', CI: 'false', CONTINUOUS_INTEGRATION: 'false' },
    });
    expect(run.stderr).toBe('');
    const { bounded, frame } = JSON.parse(run.stdout) as { bounded: boolean; frame: string };
    expect(bounded).toBe(true);
    // In debug mode every frame is Ink's copy plus the live area.
    expect(frame).toContain('line-59');
    expect(frame).not.toMatch(/\bline-0\b/);
    expect(frame.length).toBeLessThan(3000);
  });
});
