import { describe, expect, it } from 'vitest';
import { topFacilities } from '../../dashboard/counts.js';
import { recordsPerSecond } from '../../dashboard/rates.js';
import { reduce, type Action } from '../../dashboard/reducer.js';
import { initialState, parseFilter, type Limits, type TailState } from '../../dashboard/state.js';
import { record } from './helpers.js';

const T0 = Date.UTC(2026, 10, 21, 22, 0, 0);
const small: Limits = {
  linesPerBatch: 3,
  floodLines: 2,
  pauseBuffer: 4,
  linesPerGeneration: 6,
  facilities: 2,
  scrollback: 5,
};

function run(state: TailState, ...actions: Action[]): TailState {
  return actions.reduce(reduce, state);
}

function shownMessages(state: TailState): string[] {
  return state.lines.flatMap((l) => (l.kind === 'record' ? [l.record.msg] : []));
}

describe('the dashboard state', () => {
  it('counts records per severity and facility and draws them as lines', () => {
    const s = run(initialState(['#'], T0), {
      type: 'records',
      records: [record({ severity: 'error', facility: 'kern' }), record({ severity: 'info' }), record()],
      now: T0,
    });
    expect(s.total).toBe(3);
    expect(s.bySeverity.error).toBe(1);
    expect(s.bySeverity.info).toBe(2);
    expect(topFacilities(s, 5)).toEqual([
      ['app', 2],
      ['kern', 1],
    ]);
    expect(s.lines.map((l) => l.kind)).toEqual(['record', 'record', 'record']);
    expect(new Set(s.lines.map((l) => l.key)).size).toBe(3);
  });

  it('summarises a flood instead of falling behind: draws the newest few and says how severe the rest was', () => {
    const records = [
      record({ severity: 'critical', msg: 'old-1' }),
      record({ severity: 'error', msg: 'old-2' }),
      record({ msg: 'new-1' }),
      record({ msg: 'new-2' }),
      record({ msg: 'new-3' }),
    ];
    const s = reduce(initialState(['#'], T0, small), { type: 'records', records, now: T0 });
    expect(s.lines[0]).toMatchObject({
      kind: 'skipped',
      count: 3,
      reason: 'rate',
      bySeverity: { critical: 1, error: 1, info: 1 },
    });
    expect(shownMessages(s)).toEqual(['new-2', 'new-3']);
    expect(s.skipped).toBe(3);
    expect(s.total).toBe(5);
    // Up to linesPerBatch, every record is drawn.
    const calm = reduce(initialState(['#'], T0, small), {
      type: 'records',
      records: records.slice(0, 3),
      now: T0,
    });
    expect(shownMessages(calm)).toEqual(['old-1', 'old-2', 'new-1']);
    expect(calm.blocks).toHaveLength(1);
    expect(calm.blocks[0]?.lines).toHaveLength(3);
  });

  it('starts a fresh <Static> generation when one is full, so memory stays bounded', () => {
    let s = initialState(['#'], T0, small);
    for (let i = 0; i < 3; i++)
      s = reduce(s, { type: 'records', records: [record(), record(), record()], now: T0 });
    expect(s.generation).toBe(1);
    expect(s.lines).toHaveLength(3);
    expect(s.lines[0]?.key).toBe(6);
  });

  it('holds records while paused, shows the +N badge count, and flushes them on follow', () => {
    let s = run(initialState(['#'], T0, small), { type: 'togglePause' });
    s = reduce(s, { type: 'records', records: [record({ msg: 'p1' }), record({ msg: 'p2' })], now: T0 });
    expect(s.paused).toBe(true);
    expect(s.pending).toHaveLength(2);
    expect(s.lines).toHaveLength(0);
    s = reduce(s, { type: 'togglePause' });
    expect(s.paused).toBe(false);
    expect(shownMessages(s)).toEqual(['p1', 'p2']);
  });

  it('keeps the newest records while paused, counts the older ones it let go, and reports them on resume', () => {
    let s = run(initialState(['#'], T0, small), { type: 'togglePause' });
    s = reduce(s, {
      type: 'records',
      records: Array.from({ length: 6 }, (_, i) =>
        record({ msg: `p${i}`, severity: i === 0 ? 'alert' : 'info' }),
      ),
      now: T0,
    });
    expect(s.pending.map((r) => r.msg)).toEqual(['p2', 'p3', 'p4', 'p5']);
    expect(s.pendingOverflow).toBe(2);
    // A later frame pushes the older held records out too.
    s = reduce(s, { type: 'records', records: [record({ msg: 'p6', severity: 'error' })], now: T0 });
    expect(s.pending.map((r) => r.msg)).toEqual(['p3', 'p4', 'p5', 'p6']);
    expect(s.pendingOverflow).toBe(3);
    s = reduce(s, { type: 'togglePause' });
    expect(s.lines[0]).toMatchObject({
      kind: 'skipped',
      reason: 'paused',
      count: 3,
      bySeverity: { info: 2, alert: 1 },
    });
    // The resume draws like any frame (a flood of 4 draws its newest floodLines = 2): the newest.
    expect(shownMessages(s)).toEqual(['p5', 'p6']);
    expect(s.skipped).toBeGreaterThanOrEqual(3);
  });

  it('while paused under a flood, holds only the newest records of the frame', () => {
    let s = run(initialState(['#'], T0, small), { type: 'togglePause' });
    s = reduce(s, {
      type: 'records',
      records: Array.from({ length: 100 }, (_, i) => record({ msg: `f${i}` })),
      now: T0,
    });
    expect(s.pending.map((r) => r.msg)).toEqual(['f96', 'f97', 'f98', 'f99']);
    expect(s.pendingOverflow).toBe(96);
  });

  it('applies a text filter and a /regex/ filter to new records, and rejects a bad regex without losing the old one', () => {
    let s = run(
      initialState(['#'], T0),
      { type: 'promptOpen' },
      { type: 'promptInput', text: 'DISK' },
      { type: 'promptSubmit' },
      { type: 'records', records: [record({ msg: 'disk full' }), record({ msg: 'cpu hot' })], now: T0 },
    );
    expect(shownMessages(s)).toEqual(['disk full']);
    expect(s.total).toBe(2);
    s = run(
      s,
      { type: 'promptOpen' },
      { type: 'promptInput', text: '/^cpu (hot|cold)$/' },
      { type: 'promptSubmit' },
    );
    s = reduce(s, {
      type: 'records',
      records: [record({ msg: 'cpu cold' }), record({ msg: 'disk full' })],
      now: T0,
    });
    expect(shownMessages(s)).toEqual(['disk full', 'cpu cold']);
    s = run(
      s,
      { type: 'promptOpen' },
      { type: 'promptInput', text: '/(unclosed/' },
      { type: 'promptSubmit' },
    );
    expect(s.prompt?.error).toMatch(/regular expression/i);
    expect(s.filter?.source).toBe('/^cpu (hot|cold)$/');
    s = run(
      s,
      { type: 'promptCancel' },
      { type: 'promptOpen' },
      { type: 'promptInput', text: '' },
      { type: 'promptSubmit' },
    );
    expect(s.filter).toBeNull();
  });

  it('matches plain text as the one text search (words of the message), and a /regex/ against host, app, routing key and fields too', () => {
    const f = parseFilter('sda');
    expect(f.test(record({ msg: 'Disk failure on SDA' }))).toBe(true);
    expect(f.test(record({ msg: 'x', fields: { disk: 'sda' } }))).toBe(false);
    expect(f.test(record({ msg: 'on sda1' }))).toBe(false);
    expect(parseFilter('sda*').test(record({ msg: 'on sda1' }))).toBe(true);
    expect(parseFilter('/sda/').test(record({ msg: 'x', fields: { disk: 'sda' } }))).toBe(true);
    expect(parseFilter('/web-01/').test(record({ msg: 'x', host: 'web-01' }))).toBe(true);
    expect(parseFilter('/kern.crit/').test(record({ msg: 'x', routing_key: 'kern.critical' }))).toBe(true);
    expect(f.test(record({ msg: 'nothing here' }))).toBe(false);
  });

  it('cycles a minimum severity with s and hides less severe records', () => {
    let s = initialState(['#'], T0);
    const seen: (string | null)[] = [];
    for (let i = 0; i < 7; i++) {
      seen.push(s.minSeverity);
      s = reduce(s, { type: 'cycleSeverity' });
    }
    expect(seen).toEqual([null, 'info', 'notice', 'warning', 'error', 'critical', null]);
    s = run(s, { type: 'cycleSeverity' }, { type: 'cycleSeverity' }, { type: 'cycleSeverity' });
    expect(s.minSeverity).toBe('error');
    s = reduce(s, {
      type: 'records',
      records: [
        record({ severity: 'warning', msg: 'w' }),
        record({ severity: 'error', msg: 'e' }),
        record({ severity: 'emergency', msg: 'x' }),
      ],
      now: T0,
    });
    expect(shownMessages(s)).toEqual(['e', 'x']);
  });

  it('computes records per second over the last whole seconds', () => {
    let s = initialState(['#'], T0);
    for (let sec = 0; sec < 6; sec++) {
      s = reduce(s, {
        type: 'records',
        records: Array.from({ length: 10 }, () => record()),
        now: T0 + sec * 1000 + 500,
      });
    }
    expect(recordsPerSecond(s, T0 + 6_000)).toBe(10);
    s = reduce(s, { type: 'tick', now: T0 + 20_000 });
    expect(recordsPerSecond(s, T0 + 20_000)).toBe(0);
    expect(s.rateBuckets).toHaveLength(0);
  });

  it('adds dropped counts, tracks reconnects, and clear resets the counters', () => {
    let s = run(
      initialState(['#'], T0),
      { type: 'records', records: [record()], now: T0 },
      { type: 'dropped', count: 7 },
      { type: 'connection', status: 'live' },
      { type: 'connection', status: 'reconnecting', detail: 'CONNECTION_FORCED' },
      { type: 'connection', status: 'live' },
    );
    expect(s.dropped).toBe(7);
    expect(s.connection).toEqual({ status: 'live', detail: undefined, reconnects: 1 });
    s = reduce(s, { type: 'clear', now: T0 + 5000 });
    expect(s.total).toBe(0);
    expect(s.bySeverity.info).toBe(0);
    expect(s.startedAt).toBe(T0 + 5000);
  });

  it('keeps at most the configured number of facilities and counts the rest as other', () => {
    const s = reduce(initialState(['#'], T0, small), {
      type: 'records',
      records: ['a', 'b', 'c', 'd'].map((facility) => record({ facility })),
      now: T0,
    });
    expect(Object.fromEntries(s.byFacility)).toEqual({ a: 1, b: 1, other: 2 });
  });
});

describe('the screen feed', () => {
  it('folds a flood into one frame: every record counted, the newest drawn, the rest summarised by severity', async () => {
    const { createScreenFeed, createStore } = await import('../../dashboard/screen.js');
    const store = createStore(initialState(['#'], T0, { ...small, linesPerBatch: 50, floodLines: 5 }));
    const feed = createScreenFeed(store, { intervalMs: 60_000, now: () => T0 });
    for (let m = 0; m < 20; m++) {
      await feed.records(
        Array.from({ length: 50 }, (_, i) =>
          record({ msg: `r${m * 50 + i}`, severity: i === 0 ? 'error' : 'info' }),
        ),
      );
    }
    feed.dropped(7, 'broker');
    feed.flush();
    feed.stop();
    const s = store.getState();
    expect(s.total).toBe(1000);
    expect(s.bySeverity.error).toBe(20);
    expect(s.dropped).toBe(7);
    expect(shownMessages(s)).toEqual(['r995', 'r996', 'r997', 'r998', 'r999']);
    expect(s.lines[0]).toMatchObject({ kind: 'skipped', count: 995, bySeverity: { error: 20, info: 975 } });
  });
});

describe('the scrollback', () => {
  const arrive = (s: TailState, ...msgs: string[]): TailState =>
    reduce(s, { type: 'records', records: msgs.map((msg) => record({ msg })), now: T0 });
  const selected = (s: TailState): string | undefined =>
    s.browse === null ? undefined : s.held[s.browse.cursor - s.heldOffset]?.msg;

  it('holds the newest records, and a cursor stays on its record while newer ones push old ones out', () => {
    let s = arrive(initialState(['#'], T0, small), 'a', 'b', 'c', 'd');
    s = reduce(s, { type: 'browse', move: 'up', page: 2 });
    expect(s.paused).toBe(true);
    expect(selected(s)).toBe('d');
    s = reduce(s, { type: 'browse', move: 'pageUp', page: 2 });
    expect(selected(s)).toBe('b');
    // Records keep arriving while browsing (held for the resume too): 'a' is let go.
    s = arrive(s, 'e', 'f');
    expect(s.held.map((r) => r.msg)).toEqual(['b', 'c', 'd', 'e', 'f']);
    expect(selected(s)).toBe('b');
    s = arrive(s, 'g');
    expect(s.heldOffset).toBe(2);
    // Its record gone, the cursor rests on the oldest one still held.
    s = reduce(s, { type: 'browse', move: 'down', page: 2 });
    expect(selected(s)).toBe('d');
    s = reduce(s, { type: 'browse', move: 'newest', page: 2 });
    expect(selected(s)).toBe('g');
    s = reduce(s, { type: 'follow' });
    expect(s.browse).toBeNull();
    expect(s.paused).toBe(false);
    expect(shownMessages(s).slice(-3)).toEqual(['e', 'f', 'g']);
  });

  it('finds the next and previous match of the filter, and stays put when there is none', () => {
    let s = arrive(
      initialState(['#'], T0, { ...small, scrollback: 10 }),
      'x1',
      'disk 1',
      'x2',
      'disk 2',
      'x3',
    );
    s = run(s, { type: 'promptOpen' }, { type: 'promptInput', text: 'disk' }, { type: 'promptSubmit' });
    s = reduce(s, { type: 'findMatch', direction: -1 });
    expect(selected(s)).toBe('disk 2');
    s = reduce(s, { type: 'findMatch', direction: -1 });
    expect(selected(s)).toBe('disk 1');
    expect(reduce(s, { type: 'findMatch', direction: -1 })).toBe(s);
    s = reduce(s, { type: 'findMatch', direction: 1 });
    expect(selected(s)).toBe('disk 2');
  });

  it('drops a context that arrives for a record no longer open', () => {
    let s = arrive(initialState(['#'], T0, small), 'one', 'two');
    s = run(s, { type: 'browse', move: 'up', page: 1 }, { type: 'openDetail' });
    expect(s.browse?.detail?.context).toEqual({ state: 'loading' });
    const stale = reduce(s, {
      type: 'context',
      id: 'not-it',
      context: { state: 'loaded', records: [], target: 0 },
    });
    expect(stale).toBe(s);
    const id = s.browse?.detail?.record.id ?? null;
    s = reduce(s, { type: 'context', id, context: { state: 'loaded', records: [], target: 0 } });
    expect(s.browse?.detail?.context.state).toBe('loaded');
  });
});
