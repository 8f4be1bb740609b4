import { describe, expect, it } from 'vitest';
import { shipWhole } from '../../agents/inputs/http/ack.js';
import type { RecordSink } from '../../agents/inputs/input.js';
import type { ParsedRecord } from '../../agents/record.js';

/** A sink whose state the test sets; it records what was logged and what whenSafe was asked. */
function fakeSink(state: { accepting: boolean; spoolFull: boolean; safe: boolean; fillsUp?: boolean }) {
  const logged: ParsedRecord[] = [];
  const asked: number[] = [];
  const sink: RecordSink = {
    log: (record) => void logged.push(record),
    get accepting() {
      return state.accepting;
    },
    get spoolFull() {
      return state.spoolFull;
    },
    onResume: () => undefined,
    onSynced: () => undefined,
    dropped: () => undefined,
    volatileFrom: () => undefined,
    get nextSeq() {
      return 100 + logged.length;
    },
    whenSafe: (end) => {
      asked.push(end);
      // The spool filling up while the records wait is what makes whenSafe give up early.
      if (state.fillsUp === true) state.spoolFull = true;
      return Promise.resolve(state.safe);
    },
  };
  return { sink, logged, asked };
}

const records: ParsedRecord[] = [{ msg: 'a' }, { msg: 'b' }, { msg: 'c' }];
const times = { busyWaitMs: 60, safeTimeoutMs: 1000 };

describe('the doors’ acknowledgement (shipWhole)', () => {
  it('logs a request whole and says safe once the shipper says every record of it is', async () => {
    const { sink, logged, asked } = fakeSink({ accepting: true, spoolFull: false, safe: true });
    expect(await shipWhole(sink, records, times)).toEqual({ kind: 'safe' });
    expect(logged.map((r) => r.msg)).toEqual(['a', 'b', 'c']);
    // Safe up to the sequence after its last record.
    expect(asked).toEqual([103]);
  });

  it('logs nothing while the spool is full: 503, Retry-After 5', async () => {
    const { sink, logged } = fakeSink({ accepting: false, spoolFull: true, safe: true });
    expect(await shipWhole(sink, records, times)).toMatchObject({
      kind: 'busy',
      status: 503,
      retryAfterS: 5,
    });
    expect(logged).toEqual([]);
  });

  it('waits for back-pressure to ease, then logs; if it does not, 429 and nothing logged', async () => {
    const state = { accepting: false, spoolFull: false, safe: true };
    const eased = fakeSink(state);
    setTimeout(() => (state.accepting = true), 20);
    expect(await shipWhole(eased.sink, records, times)).toEqual({ kind: 'safe' });
    expect(eased.logged).toHaveLength(3);

    const held = fakeSink({ accepting: false, spoolFull: false, safe: true });
    const started = Date.now();
    expect(await shipWhole(held.sink, records, times)).toMatchObject({
      kind: 'busy',
      status: 429,
      retryAfterS: 1,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(held.logged).toEqual([]);
  });

  it('says 503 when the records were taken but are not safe, and why', async () => {
    const slow = fakeSink({ accepting: true, spoolFull: false, safe: false });
    const timedOut = await shipWhole(slow.sink, records, times);
    expect(timedOut).toMatchObject({ kind: 'busy', status: 503, retryAfterS: 5 });
    expect(timedOut.kind === 'busy' ? timedOut.reason : '').toContain(
      'neither confirmed nor spooled within 1 s',
    );
    expect(slow.logged).toHaveLength(3);

    const filling = fakeSink({ accepting: true, spoolFull: false, safe: false, fillsUp: true });
    const filled = await shipWhole(filling.sink, records, times);
    expect(filled).toMatchObject({ kind: 'busy', status: 503, retryAfterS: 5 });
    expect(filled.kind === 'busy' ? filled.reason : '').toContain(
      'the spool filled up while taking these records',
    );
    expect(filling.logged).toHaveLength(3);
  });

  it('answers an empty request safe without asking the shipper', async () => {
    const { sink, asked } = fakeSink({ accepting: false, spoolFull: true, safe: false });
    expect(await shipWhole(sink, [], times)).toEqual({ kind: 'safe' });
    expect(asked).toEqual([]);
  });
});
