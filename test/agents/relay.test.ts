import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../protocol/index.js';
import { runLogger, type LoggerSend } from '../../testkit/foreign.js';
import { freePort } from '../../testkit/net.js';
import { runBin, type RunningBin, startLiveTail, stopBin } from '../../testkit/processes.js';
import { useRealCollector } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';

/** A record as GET /api/logs and `logtail --json` give it (CONTRACT §6); pid absent when the sender gave none. */
type Row = Omit<StoredRecord, 'routing_key'>;

/**
 * logship as a syslog relay (issue 13 item 5), through the real programs: util-linux `logger`
 * (UDP and TCP, RFC 3164 and 5424) and rsyslog-style datagrams → `logship --syslog` → RabbitMQ →
 * `logcollect` → the API and `logtail --json`. A relay keeps the sender's origin, never its own.
 */
describe('logship --syslog relays other hosts’ records as they sent them', () => {
  const suite = useRealCollector('relay');
  let tail: RunningBin;
  let ship: RunningBin;
  let udpPort = 0;
  let tcpPort = 0;

  beforeAll(async () => {
    const { exchange } = suite;
    tail = await startLiveTail(suite.connection, exchange, ['#'], { probeKey: 'probe.info' });
    udpPort = await freePort();
    tcpPort = await freePort();
    ship = runBin(
      'logship',
      [
        '-v',
        '--syslog',
        `udp://127.0.0.1:${udpPort}`,
        '--syslog',
        `tcp://127.0.0.1:${tcpPort}`,
        '--exchange',
        exchange,
        '--spool',
        path.join(suite.dir, 'spool'),
      ],
      { keepStdinOpen: true },
    );
    await waitUntil('logship listens', () => ship.stderr().includes(`listening for syslog tcp`));
  }, 60_000);

  afterAll(async () => {
    if (ship !== undefined) await stopBin(ship);
    if (tail !== undefined) await stopBin(tail);
  });

  it('stores facility, severity, host, app, pid, time, msg and fields of logger and rsyslog frames', async () => {
    const sentAt = Date.now();
    const base = { host: '127.0.0.1' } as const;
    const sends: LoggerSend[] = [
      {
        ...base,
        port: udpPort,
        protocol: 'udp',
        format: 'rfc3164',
        priority: 'auth.warning',
        tag: 'sshd',
        pid: 4242,
        message: 'relay udp 3164',
      },
      {
        ...base,
        port: udpPort,
        protocol: 'udp',
        format: 'rfc5424',
        priority: 'local3.err',
        tag: 'myapp',
        message: 'relay udp 5424',
      },
      {
        ...base,
        port: tcpPort,
        protocol: 'tcp',
        format: 'rfc3164',
        priority: 'mail.notice',
        tag: 'postfix',
        pid: 77,
        message: 'relay tcp 3164',
      },
      {
        ...base,
        port: tcpPort,
        protocol: 'tcp',
        format: 'rfc5424',
        octetCount: true,
        priority: 'daemon.info',
        tag: 'worker',
        msgid: 'ID47',
        message: 'relay tcp 5424',
      },
    ];
    for (const send of sends) {
      const result = await runLogger(send);
      expect(result.code, result.stderr).toBe(0);
    }
    // rsyslog's default forwarding (tags without a colon), two frames in one datagram as pino-socket sends them.
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      udp.send(
        '<86>Dec  3 05:46:39 h2 sshd[4242] relay colonless\n<155>Dec  3 05:46:40 h2 myapp relay second frame\n',
        udpPort,
        '127.0.0.1',
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    udp.close();

    let rows: Row[] = [];
    await expect
      .poll(
        async () => {
          const response = await fetch(`${suite.api}/api/logs?q=relay&limit=100`);
          rows = ((await response.json()) as { records: Row[] }).records;
          return rows.length;
        },
        { timeout: 15_000 },
      )
      .toBe(6);
    const byMsg = new Map(rows.map((row) => [row.msg, row]));
    const me = os.hostname();
    const expected: [string, Partial<Row>][] = [
      ['relay udp 3164', { facility: 'auth', severity: 'warning', host: me, app: 'sshd', pid: 4242 }],
      ['relay udp 5424', { facility: 'local3', severity: 'error', host: me, app: 'myapp', pid: undefined }],
      ['relay tcp 3164', { facility: 'mail', severity: 'notice', host: me, app: 'postfix', pid: 77 }],
      ['relay tcp 5424', { facility: 'daemon', severity: 'info', host: me, app: 'worker', pid: undefined }],
      ['relay colonless', { facility: 'authpriv', severity: 'info', host: 'h2', app: 'sshd', pid: 4242 }],
      [
        'relay second frame',
        { facility: 'local3', severity: 'error', host: 'h2', app: 'myapp', pid: undefined },
      ],
    ];
    for (const [msg, want] of expected) {
      const row = byMsg.get(msg);
      const { pid, ...origin } = want;
      expect(row, msg).toMatchObject(origin);
      expect(row?.pid, msg).toBe(pid);
      // Never the relay's own app or pid, and where it came from is kept.
      expect(row?.app).not.toBe('logship');
      expect(row?.pid).not.toBe(ship.child.pid);
      expect(row?.fields).toMatchObject({ sender: '127.0.0.1' });
    }
    // logger's own timestamps: RFC 3164 to the second (local time), RFC 5424 with microseconds.
    for (const msg of ['relay udp 3164', 'relay tcp 3164', 'relay udp 5424', 'relay tcp 5424']) {
      const ts = Date.parse(byMsg.get(msg)!.ts);
      expect(Math.abs(ts - sentAt), msg).toBeLessThan(10_000);
    }
    expect(byMsg.get('relay udp 3164')!.ts).toMatch(/:\d\d\.000Z$/);
    expect(byMsg.get('relay tcp 5424')!.fields).toMatchObject({ msgid: 'ID47' });
    expect(byMsg.get('relay udp 5424')!.fields).toMatchObject({ sd: { timeQuality: { tzKnown: '1' } } });
    const colonless = new Date(byMsg.get('relay colonless')!.ts);
    expect([colonless.getMonth(), colonless.getDate(), colonless.getHours(), colonless.getMinutes()]).toEqual(
      [11, 3, 5, 46],
    );

    // logtail --json prints the same records as the store holds.
    await expect
      .poll(() => tailed().filter((r) => r.msg.startsWith('relay ')).length, { timeout: 10_000 })
      .toBe(6);
    for (const live of tailed().filter((r) => r.msg.startsWith('relay '))) {
      const stored = byMsg.get(live.msg)!;
      expect(pick(live), live.msg).toEqual(pick(stored));
    }
  });

  /** The record itself, without anything else either output may add. */
  function pick({ id, ts, facility, severity, host, app, pid, msg, fields }: Row): Row {
    return { id, ts, facility, severity, host, app, pid, msg, fields };
  }

  function tailed(): Row[] {
    return tail
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Row);
  }
});
