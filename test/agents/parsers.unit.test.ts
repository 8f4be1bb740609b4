import { describe, expect, it, vi } from 'vitest';
import { isWarrenError } from '../../protocol/index.js';
import { parseAgentArgs, parseSize } from '../../agents/options.js';
import { SyslogFramer } from '../../agents/parse/frames.js';
import { parseJsonLine } from '../../agents/parse/json.js';
import { LineSplitter, type Line } from '../../agents/parse/line.js';
import { DEFAULT_CONTINUATION, MultilineJoiner } from '../../agents/parse/multiline.js';
import { parseSyslog } from '../../agents/parse/syslog.js';
import { TextPipeline, lineToRecord } from '../../agents/parse/text.js';
import type { ParsedRecord } from '../../agents/record.js';

function split(chunks: (string | Buffer)[], max = 64 * 1024): Line[] {
  const lines: Line[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  return lines;
}

describe('line splitter', () => {
  it('splits LF and CRLF lines across chunk boundaries and keeps their stream offsets', () => {
    const lines = split(['one\r\ntw', 'o\nthr', 'ee']);
    expect(lines.map((l) => l.text)).toEqual(['one', 'two', 'three']);
    expect(lines.map((l) => l.start)).toEqual([0, 5, 9]);
  });

  it('cuts an over-long line at the cap, marks it, and carries on with the next line', () => {
    const long = 'x'.repeat(100);
    const lines = split([long.slice(0, 30), long.slice(30) + '\nnext\n'], 40);
    expect(lines).toHaveLength(2);
    expect(lines[0]!.text).toBe(`${'x'.repeat(40)} …[truncated 60 bytes]`);
    expect(lines[0]!.truncated).toBe(60);
    expect(lines[1]!.text).toBe('next');
  });

  it('replaces invalid UTF-8 and flags it; binary garbage is still a line', () => {
    const lines = split([Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x0a, 0x00, 0x01, 0x02, 0x0a])]);
    expect(lines[0]!.text).toBe('ok\uFFFD\uFFFD');
    expect(lines[0]!.invalidUtf8).toBe(true);
    expect(lines[1]!.text).toBe('\u0000\u0001\u0002');
    expect(lines[1]!.invalidUtf8).toBe(false);
  });

  it('records the flags as fields of the record', () => {
    const record = lineToRecord({ text: 'a\uFFFD', truncated: 7, invalidUtf8: true, start: 0 }, true);
    expect(record).toEqual({ msg: 'a\uFFFD', fields: { truncated_bytes: 7, invalid_utf8: true } });
  });
});

describe('JSON lines', () => {
  it('reads a pino line: level, time, msg, pid, hostname and the rest as fields', () => {
    const record = parseJsonLine(
      '{"level":50,"time":1763764434123,"pid":42,"hostname":"web-01","name":"api","msg":"boom","req":{"id":7}}',
    );
    expect(record).toEqual({
      msg: 'boom',
      severity: 'error',
      ts: '2025-11-21T22:33:54.123Z',
      host: 'web-01',
      app: 'api',
      pid: 42,
      fields: { req: { id: 7 } },
    });
  });

  it('reads a bunyan line (level 60 = fatal = critical, ISO time, v dropped)', () => {
    const record = parseJsonLine(
      '{"name":"svc","hostname":"h","pid":1,"level":60,"msg":"dead","time":"2026-01-02T03:04:05.000Z","v":0}',
    );
    expect(record?.severity).toBe('critical');
    expect(record?.ts).toBe('2026-01-02T03:04:05.000Z');
    expect(record?.fields).toBeUndefined();
  });

  it('maps level names and keeps an unknown level as a field', () => {
    expect(parseJsonLine('{"level":"warn","msg":"w"}')?.severity).toBe('warning');
    const odd = parseJsonLine('{"level":"verbose","msg":"v"}');
    expect(odd?.severity).toBeUndefined();
    expect(odd?.fields).toEqual({ level: 'verbose' });
  });

  it('takes a valid facility from the line and ignores an invalid one', () => {
    expect(parseJsonLine('{"facility":"Auth","msg":"x"}')?.facility).toBe('auth');
    const bad = parseJsonLine('{"facility":"not valid!","msg":"x"}');
    expect(bad?.facility).toBeUndefined();
  });

  it('treats JSON that is not an object, and broken JSON, as plain text', () => {
    expect(parseJsonLine('[1,2,3]')).toBeUndefined();
    expect(parseJsonLine('42')).toBeUndefined();
    expect(parseJsonLine('"just a string"')).toBeUndefined();
    expect(parseJsonLine('{"msg": "unterminated')).toBeUndefined();
    expect(lineToRecord({ text: '[1,2,3]', truncated: 0, invalidUtf8: false, start: 0 }, true)).toEqual({
      msg: '[1,2,3]',
    });
  });

  it('uses the whole object as the message when it has none', () => {
    expect(parseJsonLine('{"level":30,"event":"login"}')?.msg).toBe('{"level":30,"event":"login"}');
  });
});

describe('syslog', () => {
  const now = new Date('2026-11-21T12:00:00Z');

  it('parses RFC 5424 with structured data, msgid and procid', () => {
    const record = parseSyslog(
      '<34>1 2026-11-21T22:14:15.003Z mymachine.example.com su 4121 ID47 [exampleSDID@32473 iut="3" eventSource="App\\"lication"][meta x="1"] \uFEFF\'su root\' failed',
      now,
    );
    expect(record).toEqual({
      msg: "'su root' failed",
      facility: 'auth',
      severity: 'critical',
      ts: '2026-11-21T22:14:15.003Z',
      host: 'mymachine.example.com',
      app: 'su',
      pid: 4121,
      fields: {
        msgid: 'ID47',
        sd: { 'exampleSDID@32473': { iut: '3', eventSource: 'App"lication' }, meta: { x: '1' } },
      },
    });
  });

  it('parses RFC 5424 with nil values and no message', () => {
    const record = parseSyslog('<165>1 - - - - - -', now);
    expect(record).toEqual({ msg: '', facility: 'local4', severity: 'notice' });
  });

  it('parses RFC 3164 with hostname, tag and pid', () => {
    const record = parseSyslog('<13>Nov 21 11:59:58 web-01 sshd[981]: Accepted publickey for bob', now);
    expect(record.facility).toBe('user');
    expect(record.severity).toBe('notice');
    expect(record.host).toBe('web-01');
    expect(record.app).toBe('sshd');
    expect(record.pid).toBe(981);
    expect(record.msg).toBe('Accepted publickey for bob');
    expect(record.ts).toBe(new Date(2026, 10, 21, 11, 59, 58).toISOString());
  });

  it('reads the tag of RFC 3164 without a colon, as rsyslog forwards it by default', () => {
    expect(parseSyslog('<86>Dec  3 05:46:39 h2 sshd[4242] session opened', now)).toMatchObject({
      host: 'h2',
      app: 'sshd',
      pid: 4242,
      msg: 'session opened',
    });
    expect(parseSyslog('<155>Dec  3 08:51:00 vm myapp via rsyslog 5424', now)).toMatchObject({
      host: 'vm',
      app: 'myapp',
      msg: 'via rsyslog 5424',
    });
    // Without a timestamp and host the first word is not taken for a tag.
    expect(parseSyslog('<13>hello world', now)).toEqual({
      msg: 'hello world',
      facility: 'user',
      severity: 'notice',
    });
  });

  it('parses RFC 3164 without a timestamp (as many local senders do)', () => {
    const record = parseSyslog('<0>kernel: disk failure', now);
    expect(record).toMatchObject({
      facility: 'kern',
      severity: 'emergency',
      app: 'kernel',
      msg: 'disk failure',
    });
  });

  it('puts a December timestamp read in January in the previous year', () => {
    const record = parseSyslog('<14>Dec 31 23:59:59 h app: x', new Date(2027, 0, 1, 0, 0, 5));
    expect(record.ts).toBe(new Date(2026, 11, 31, 23, 59, 59).toISOString());
  });

  it('ships malformed frames as text with the reason', () => {
    expect(parseSyslog('no pri here', now)).toEqual({
      msg: 'no pri here',
      fields: { syslog_error: 'no <PRI> at the start' },
    });
    expect(parseSyslog('<999>1 - - - - - - x', now).fields).toEqual({
      syslog_error: 'PRI 999 is out of range 0..191',
    });
    const badSd = parseSyslog('<14>1 - h a - - [broken x="1" oops', now);
    expect(badSd.fields?.syslog_error).toBe('malformed structured data');
    expect(badSd.facility).toBe('user');
  });
});

describe('syslog TCP framing', () => {
  function frames(chunks: string[], max = 1024): string[] {
    const out: string[] = [];
    const framer = new SyslogFramer((f) => out.push(f), max);
    for (const c of chunks) framer.push(Buffer.from(c));
    framer.end();
    return out;
  }

  it('reads octet-counted frames split anywhere, including embedded newlines', () => {
    const a = '<14>1 - h app - - - line one\nline two';
    const b = '<11>1 - h app - - - second';
    const stream = `${Buffer.byteLength(a)} ${a}${Buffer.byteLength(b)} ${b}`;
    expect(frames([stream.slice(0, 3), stream.slice(3, 20), stream.slice(20)])).toEqual([a, b]);
  });

  it('reads newline-delimited frames and a final unterminated one', () => {
    expect(frames(['<14>a: one\n<14>a: t', 'wo\r\n<14>a: three'])).toEqual([
      '<14>a: one',
      '<14>a: two',
      '<14>a: three',
    ]);
  });

  it('gives the same frames wherever the reads split the stream', () => {
    const octet = '<14>1 - h app - - - counted\nwith a newline';
    const stream = `<14>a: one\r\n\r\n  \n${Buffer.byteLength(octet)} ${octet}<13>b: two\n12 <1>bad count\n<14>c: ${'x'.repeat(30)}\n<11>d: end`;
    const whole = frames([stream], 24);
    expect(whole.length).toBe(6);
    for (let a = 1; a < stream.length; a++)
      for (let b = a; b < stream.length; b += 7)
        expect(frames([stream.slice(0, a), stream.slice(a, b), stream.slice(b)], 24)).toEqual(whole);
  });

  it('mixes both framings on one connection', () => {
    expect(frames(['5 <1>ab<14>x: y\n'])).toEqual(['<1>ab', '<14>x: y']);
  });

  it('cuts over-long frames of either kind at the cap and marks them', () => {
    const long = `<14>${'z'.repeat(50)}`;
    expect(frames([`${long.length} ${long}<14>after\n`], 20)).toEqual([
      `${long.slice(0, 20)} …[truncated ${long.length - 20} bytes]`,
      '<14>after',
    ]);
    const [cut] = frames([`${long}${long}`], 20);
    expect(cut?.startsWith(long.slice(0, 20))).toBe(true);
    expect(cut).toContain('…[truncated');
  });
});

describe('multi-line joining', () => {
  const options = { continuation: DEFAULT_CONTINUATION, maxChars: 10_000, lingerMs: 30 };

  function join(lines: string[], opts = options): string[] {
    const out: string[] = [];
    const joiner = new MultilineJoiner<{ text: string }>(opts, (l) => out.push(l.text));
    for (const text of lines) joiner.push({ text });
    joiner.close();
    return out;
  }

  it('joins a Java stack trace with Caused by: and "... N more"', () => {
    const trace = [
      'Exception in thread "main" java.lang.IllegalStateException: boom',
      '\tat com.acme.Main.run(Main.java:10)',
      'Caused by: java.io.IOException: disk',
      '\tat com.acme.Disk.read(Disk.java:3)',
      '\t... 4 more',
    ];
    expect(join([...trace, 'next record'])).toEqual([trace.join('\n'), 'next record']);
  });

  it('joins by a custom pattern', () => {
    expect(join(['[1] a', 'b', '[2] c'], { ...options, continuation: /^[^[]/ })).toEqual([
      '[1] a\nb',
      '[2] c',
    ]);
  });

  it('ships a held record after the linger time when no line follows', async () => {
    const out: string[] = [];
    const joiner = new MultilineJoiner<{ text: string }>(options, (l) => out.push(l.text));
    joiner.push({ text: 'Error: x' });
    joiner.push({ text: '    at f()' });
    expect(out).toEqual([]);
    await vi.waitFor(() => expect(out).toEqual(['Error: x\n    at f()']), { timeout: 1000, interval: 10 });
    joiner.close();
  });

  it('through the text pipeline, the safe offset stays at the start of a held record', () => {
    const records: ParsedRecord[] = [];
    const pipeline = new TextPipeline({ json: true, multiline: options, maxLineBytes: 1000 }, (r) =>
      records.push(r),
    );
    pipeline.push(Buffer.from('first\nsecond\n  cont\npart'));
    expect(records.map((r) => r.msg)).toEqual(['first']);
    expect(pipeline.safeOffset).toBe(6);
    pipeline.end();
    expect(records.map((r) => r.msg)).toEqual(['first', 'second\n  cont', 'part']);
  });
});

describe('logship options', () => {
  function usageError(argv: string[]): unknown {
    try {
      parseAgentArgs(argv, {});
    } catch (err) {
      return err;
    }
    return undefined;
  }

  it('validates facility and severity at the edge (exit code 2)', () => {
    const bad = usageError(['--facility', 'Not Valid!']);
    expect(isWarrenError(bad, 'WARREN_BAD_FACILITY')).toBe(true);
    expect(isWarrenError(bad) && bad.exitCode).toBe(2);
    expect(isWarrenError(usageError(['--severity', 'loud']), 'WARREN_BAD_SEVERITY')).toBe(true);
    expect(isWarrenError(usageError(['--syslog', 'http://x:1']), 'WARREN_BAD_USAGE')).toBe(true);
    expect(isWarrenError(usageError(['--multiline', '(']), 'WARREN_BAD_USAGE')).toBe(true);
  });

  it('normalises aliases and reads sizes and durations', () => {
    const config = parseAgentArgs(
      ['--facility', 'KERN', '--severity', 'crit', '--batch-bytes', '64k', '--linger', '5ms'],
      {},
    );
    expect(config.facility).toBe('kern');
    expect(config.severity).toBe('critical');
    expect(config.batch).toEqual({ maxRecords: 500, maxBytes: 65536, lingerMs: 5 });
    expect(config.stdin).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
    expect(parseSize('1g', 'x')).toBe(1024 ** 3);
    expect(() => parseSize('lots', '--spool-max')).toThrow(/invalid size 'lots' for --spool-max/);
  });

  it('reads stdin only by default or with --stdin when other inputs are given', () => {
    expect(parseAgentArgs(['--file', '/tmp/x.log'], {}).stdin).toBe(false);
    expect(parseAgentArgs(['--file', '/tmp/x.log', '--stdin'], {}).stdin).toBe(true);
    expect(parseAgentArgs(['--syslog', 'udp://127.0.0.1:5514'], {}).syslog).toEqual([
      { protocol: 'udp', host: '127.0.0.1', port: 5514 },
    ]);
  });
});
