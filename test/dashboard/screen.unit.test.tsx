import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import React from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../dashboard/screen.js';
import { initialState, type Context } from '../../dashboard/state.js';
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

function mount(
  color = true,
  loadContext?: (id: string) => Promise<Context>,
): { store: Store; lastFrame: () => string; stdin: { write(s: string): void } } {
  const store = createStore(initialState(['*.critical', 'kern.*'], Date.now()));
  const { lastFrame, stdin } = testing.render(
    <ui.App store={store} color={color} loadContext={loadContext} />,
  );
  return { store, lastFrame: () => lastFrame() ?? '', stdin };
}

// Terminal key sequences as Ink reads them.
const UP = `${ESC}A`;
const PAGE_UP = `${ESC}5~`;
const HOME = `${ESC}H`;
const ENTER = '\r';
const ESCAPE = E;

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
    expect(frame).toContain('top facilities kern 2');
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
        scrollback: 100,
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

describe('the screen as a dashboard', () => {
  const now = Date.now();
  const at = (msAgo: number): string => new Date(now - msAgo).toISOString();

  it('shows the volume of the last minutes per severity as bars, and the top facilities and hosts', async () => {
    const { store, lastFrame } = mount(false);
    const records = [
      ...Array.from({ length: 40 }, (_, i) =>
        record({ severity: 'info', facility: 'web', host: 'web-01', ts: at(1000 + (i % 3) * 10_000) }),
      ),
      ...Array.from({ length: 5 }, () =>
        record({ severity: 'error', facility: 'db', host: 'db-01', ts: at(95_000) }),
      ),
      // History older than the window is no bar.
      record({ severity: 'critical', facility: 'kern', host: 'db-01', ts: at(3_600_000) }),
    ];
    store.dispatch({ type: 'records', records, now });
    await tick();
    const frame = plain(lastFrame());
    expect(frame).toContain('volume (5 min, 10 s a column), peak 14 a column');
    const bars = (label: string): string =>
      new RegExp(`^${label} +(.{30}) (\\d+)$`, 'm').exec(frame)?.[1] ?? '';
    // info: three busy columns at the end (14, 13, 13 records); error: one column 9-10 buckets back.
    expect(bars('info').trimEnd().slice(-3)).toMatch(/^[▇█]{3}$/);
    expect(bars('info').trim()).toHaveLength(3);
    expect(bars('err').trim()).toHaveLength(1);
    expect(bars('err').indexOf(bars('err').trim())).toBeLessThan(27);
    expect(frame).toMatch(/^info +.{30} 40$/m);
    expect(frame).toMatch(/^err +.{30} 5$/m);
    expect(frame).not.toMatch(/^crit /m);
    expect(frame).toContain('top facilities web 40, db 5, kern 1 · hosts web-01 40, db-01 6');
  });

  it('browses the records it holds with the arrows, and highlights what the / filter matches', async () => {
    const { store, lastFrame, stdin } = mount(true);
    store.dispatch({
      type: 'records',
      records: Array.from({ length: 60 }, (_, i) =>
        record({ msg: i % 10 === 3 ? `disk failure ${i}` : `all well ${i}` }),
      ),
      now,
    });
    await tick();
    stdin.write(UP);
    await tick();
    let frame = plain(lastFrame());
    expect(frame).toContain('scrollback: 60 of 60 held');
    expect(frame).toMatch(/▶ {2}\S+ \S+ app +info +all well 59$/m);
    stdin.write(PAGE_UP);
    await tick();
    expect(plain(lastFrame())).toMatch(/scrollback: (\d+) of 60 held/);
    stdin.write(HOME);
    await tick();
    expect(plain(lastFrame())).toMatch(/▶ {2}\S+ \S+ app +info +all well 0$/m);
    stdin.write('/');
    for (const ch of 'disk') stdin.write(ch);
    stdin.write(ENTER);
    await tick();
    stdin.write('n');
    await tick();
    frame = lastFrame();
    // The cursor on the first match, the matched word in inverse video, matches marked •.
    expect(plain(frame)).toMatch(/▶• \S+ \S+ app +info +disk failure 3$/m);
    expect(frame).toContain(`${ESC}7mdisk`);
    stdin.write('n');
    await tick();
    expect(plain(lastFrame())).toMatch(/▶• \S+ \S+ app +info +disk failure 13$/m);
    stdin.write('N');
    await tick();
    expect(plain(lastFrame())).toMatch(/▶• \S+ \S+ app +info +disk failure 3$/m);
    // Esc follows the stream again.
    stdin.write(ESCAPE);
    await tick();
    expect(plain(lastFrame())).not.toContain('scrollback:');
    expect(store.getState().paused).toBe(false);
  });

  it('keeps history for the scrollback instead of summarising it away', async () => {
    const store = createStore(
      initialState(['#'], now, {
        linesPerBatch: 2,
        floodLines: 2,
        pauseBuffer: 10,
        linesPerGeneration: 100,
        facilities: 10,
        scrollback: 50,
      }),
    );
    const { lastFrame, stdin } = testing.render(<ui.App store={store} color={false} />);
    store.dispatch({
      type: 'records',
      records: Array.from({ length: 80 }, (_, i) => record({ msg: `past ${i}` })),
      now,
    });
    await tick();
    expect(plain(lastFrame() ?? '')).toContain('records skipped to keep up');
    stdin.write(HOME);
    await tick();
    // The newest 50 are held: the oldest of them is record 30.
    expect(plain(lastFrame() ?? '')).toContain('scrollback: 1 of 50 held (30 older let go)');
    expect(plain(lastFrame() ?? '')).toMatch(/▶ {2}\S+ \S+ app +info +past 30$/m);
  });

  it('shows the selected record whole and the lines around it from the API', async () => {
    const target = record({
      msg: 'payment failed',
      host: 'web-01',
      app: 'shop',
      pid: 42,
      fields: { http: { status: 502 }, user: 'bob' },
    });
    const asked: string[] = [];
    const { store, lastFrame, stdin } = mount(false, (id) => {
      asked.push(id);
      return Promise.resolve({
        state: 'loaded',
        records: [
          record({ msg: 'before it', host: 'web-01' }),
          target,
          record({ msg: 'after it', host: 'web-01' }),
        ],
        target: 1,
      });
    });
    store.dispatch({ type: 'records', records: [record({ msg: 'older' }), target], now });
    await tick();
    stdin.write(UP);
    await tick();
    stdin.write(ENTER);
    await tick();
    const frame = plain(lastFrame());
    expect(asked).toEqual([target.id]);
    expect(frame).toContain(`id        ${target.id ?? ''}`);
    expect(frame).toContain('host      web-01');
    expect(frame).toContain('app       shop[42]');
    expect(frame).toContain('fields    http.status = 502');
    expect(frame).toContain('          user = bob');
    expect(frame).toMatch(/^ {2}\S+ \S+ app +info +web-01 before it$/m);
    expect(frame).toMatch(/^▶ \S+ \S+ app +info +web-01 shop\[42\] payment failed http=/m);
    expect(frame).toMatch(/^ {2}\S+ \S+ app +info +web-01 after it$/m);
    stdin.write(ESCAPE);
    await tick();
    expect(plain(lastFrame())).toContain('scrollback: 2 of 2 held');
  });

  it('says why there is no context: the API failed, or the record has no id', async () => {
    const { store, lastFrame, stdin } = mount(false, () =>
      Promise.resolve({
        state: 'failed',
        message: 'cannot reach the Warren API at http://127.0.0.1:9 (ECONNREFUSED)',
        hint: 'start the collector',
      }),
    );
    store.dispatch({
      type: 'records',
      records: [record({ msg: 'has an id' }), record({ id: null, msg: 'no id' })],
      now,
    });
    await tick();
    stdin.write(UP);
    await tick();
    stdin.write(ENTER);
    await tick();
    let frame = plain(lastFrame());
    expect(frame).toContain('id        (none: the publisher gave it no id)');
    expect(frame).toContain('context unavailable: this record has no id, so it cannot be found in the store');
    stdin.write(ESCAPE);
    await tick();
    stdin.write(UP);
    await tick();
    stdin.write(ENTER);
    await tick();
    frame = plain(lastFrame());
    expect(frame).toContain(
      'context unavailable: cannot reach the Warren API at http://127.0.0.1:9 (ECONNREFUSED)',
    );
    expect(frame).toContain('hint: start the collector');
  });

  it('takes `/`, the filter and Enter arriving as one chunk (typed ahead or pasted)', async () => {
    const { store, lastFrame, stdin } = mount(false);
    stdin.write('/disk\r');
    await tick();
    expect(plain(lastFrame())).toContain('filter: disk');
    store.dispatch({
      type: 'records',
      records: [record({ msg: 'disk sda' }), record({ msg: 'cpu hot' })],
      now,
    });
    await tick();
    expect(lastFrame()).toContain('disk sda');
    expect(lastFrame()).not.toContain('cpu hot');
  });

  it('lists the keys on ?', async () => {
    const { lastFrame, stdin } = mount(false);
    stdin.write('?');
    await tick();
    expect(plain(lastFrame())).toContain("the selected record's fields and its context");
    stdin.write('x');
    await tick();
    expect(plain(lastFrame())).not.toContain('any key closes');
  });
});
