import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openLineOutput } from '../../dashboard/output/lines.js';
import { statusText, type Output } from '../../dashboard/output/sink.js';
import type { StoredRecord } from '../../protocol/index.js';

function captured(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, text: () => chunks.join('') };
}

const record: StoredRecord = {
  id: 'a:1',
  ts: '2026-11-21T22:33:54.123Z',
  facility: 'kern',
  severity: 'critical',
  msg: 'disk failure',
  routing_key: 'kern.critical',
};

function open(): Output & { out: () => string; err: () => string } {
  const out = captured();
  const err = captured();
  const output = openLineOutput({
    out: out.stream,
    err: err.stream,
    format: (r) => r.msg,
    maxLength: 10_000,
    stop: () => undefined,
  });
  return { ...output, out: out.text, err: err.text };
}

describe('the line output (json and text modes)', () => {
  it('prints records one per line on stdout and notices on stderr', async () => {
    const output = open();
    await output.sink.records([record, { ...record, msg: 'second' }]);
    output.sink.notice('something to know');
    await output.close();
    expect(output.out()).toBe('disk failure\nsecond\n');
    expect(output.err()).toBe('logtail: something to know\n');
  });

  it('says once that the connection was lost, and nothing for its retries or for going live', async () => {
    const output = open();
    output.sink.status('connecting');
    output.sink.status('live');
    output.sink.status('reconnecting', { kind: 'lost', reason: 'CONNECTION_FORCED' });
    output.sink.status('reconnecting', { kind: 'retry', reason: 'ECONNREFUSED', attempt: 1, delayMs: 250 });
    output.sink.status('backfilling', { kind: 'note', text: 'reconnected after 1.0s' });
    output.sink.status('reconnecting', { kind: 'retry', reason: 'ECONNREFUSED', attempt: 2, delayMs: 500 });
    await output.close();
    expect(output.err()).toBe('logtail: lost the broker connection (CONNECTION_FORCED); reconnecting\n');
  });

  it('reports drops on close, apart by where they were lost', async () => {
    const output = open();
    output.sink.dropped(3, 'broker');
    output.sink.dropped(2, 'broker');
    output.sink.dropped(1, 'seam');
    await output.close();
    expect(output.err()).toBe(
      'logtail: 5 record(s) dropped by the broker: this tail could not keep up (its queue keeps 10000; raise --max-length or narrow the patterns)\n' +
        'logtail: 1 live record(s) dropped while the history was read (hold buffer full)\n',
    );
  });

  it('stops the tail when the reader of a pipe goes away', async () => {
    const stdout = new PassThrough();
    let stopped = 0;
    const output = openLineOutput({
      out: stdout,
      err: new PassThrough(),
      format: (r) => r.msg,
      maxLength: 1,
      stop: () => stopped++,
    });
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(stopped).toBe(1);
    await output.close();
  });
});

describe('a status detail as the screen shows it', () => {
  it('is the note, the reason, or the reason and when the next retry is', () => {
    expect(statusText({ kind: 'note', text: 'history since then' })).toBe('history since then');
    expect(statusText({ kind: 'lost', reason: 'CONNECTION_FORCED' })).toBe('CONNECTION_FORCED');
    expect(statusText({ kind: 'retry', reason: 'ECONNREFUSED', attempt: 3, delayMs: 1250 })).toBe(
      'ECONNREFUSED; retry 3 in 1.3s',
    );
  });
});
