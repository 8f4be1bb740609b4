import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from '../../agents/agent.js';
import type { RecordSink } from '../../agents/inputs/input.js';
import { createSyslogInput } from '../../agents/inputs/syslog.js';
import type { ParsedRecord } from '../../agents/record.js';
import { parseAgentArgs } from '../../agents/options.js';
import { AMQP_URL } from '../../testkit/broker.js';
import { tempDir } from '../../testkit/temp.js';
import { useCleanups } from '../../testkit/suite.js';
import { createSink, silentLogger, type Sink } from './helpers.js';
import { freePort } from '../../testkit/net.js';

const cleanup = useCleanups();

async function startSyslogAgent(): Promise<{ sink: Sink; port: number }> {
  const sink = await createSink('agents-syslog');
  cleanup(() => sink.close());
  const { dir, remove: removeDir } = tempDir('agents');
  cleanup(removeDir);
  const port = await freePort();
  const config = parseAgentArgs(
    [
      '--amqp',
      AMQP_URL,
      '--exchange',
      sink.exchange,
      '--spool',
      path.join(dir, 'spool'),
      '--syslog',
      `udp://127.0.0.1:${port}`,
      '--syslog',
      `tcp://127.0.0.1:${port}`,
      '--facility',
      'fallback',
    ],
    {},
  );
  const agent = createAgent(config, silentLogger);
  cleanup(async () => void (await agent.close()));
  await agent.start();
  return { sink, port };
}

describe('syslog input', () => {
  it('takes RFC 5424 and RFC 3164 over UDP, routing by PRI, with host, app, pid and structured data', async () => {
    const { sink, port } = await startSyslogAgent();
    const client = dgram.createSocket('udp4');
    cleanup(() => void client.close());
    const send = (text: string): Promise<void> =>
      new Promise((resolve, reject) =>
        client.send(text, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    await send(
      '<34>1 2026-11-21T22:14:15.003Z db-01 postgres 811 - [origin ip="10.0.0.5"] disk failure on sda\n',
    );
    await send('<86>Nov 21 22:14:16 web-01 sshd[981]: session opened for user bob');
    await send('garbage without a PRI');
    const received = await sink.waitFor((r) => r.length >= 3);
    const byMsg = new Map(received.map((r) => [r.record.msg, r]));
    expect(byMsg.get('disk failure on sda')).toMatchObject({
      key: 'auth.critical',
      record: { host: 'db-01', app: 'postgres', pid: 811, fields: { sd: { origin: { ip: '10.0.0.5' } } } },
    });
    expect(byMsg.get('session opened for user bob')).toMatchObject({
      key: 'authpriv.info',
      record: { host: 'web-01', app: 'sshd', pid: 981 },
    });
    // Not syslog: still shipped, under the default facility, with the reason.
    expect(byMsg.get('garbage without a PRI')).toMatchObject({
      key: 'fallback.info',
      record: { fields: { syslog_error: 'no <PRI> at the start' } },
    });
  });

  it('takes octet-counted and newline-framed messages over TCP, including a multi-line one', async () => {
    const { sink, port } = await startSyslogAgent();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const counted = '<11>1 - app-01 api - - - Error: boom\n    at handler (api.js:10)';
    socket.write(`${Buffer.byteLength(counted)} ${counted}`);
    socket.write('<13>Nov 21 22:14:16 app-01 cron: newline framed one\n<15>app: newline framed two\n');
    socket.end();
    const received = await sink.waitFor((r) => r.length >= 3);
    expect(received.map((r) => [r.key, r.record.msg]).sort()).toEqual([
      ['user.debug', 'newline framed two'],
      ['user.error', 'Error: boom\n    at handler (api.js:10)'],
      ['user.notice', 'newline framed one'],
    ]);
  });

  it('drops and counts UDP datagrams while the spool is full, and takes them again once it has room', async () => {
    const logged: ParsedRecord[] = [];
    let dropped = 0;
    let resume: () => void = () => undefined;
    const sink: RecordSink & { accepting: boolean; spoolFull: boolean } = {
      accepting: false,
      spoolFull: true,
      log: (record) => logged.push(record),
      onResume: (listener) => (resume = listener),
      onSynced: () => undefined,
      dropped: (count = 1) => (dropped += count),
      volatileFrom: () => undefined,
      nextSeq: 0,
      whenSafe: () => Promise.resolve(true),
    };
    const port = await freePort();
    const input = createSyslogInput(
      { sink, logger: silentLogger, text: { json: true, multiline: undefined, maxLineBytes: 1024 } },
      { protocol: 'udp', host: '127.0.0.1', port },
      1024,
    );
    await input.start();
    cleanup(() => input.stop());
    const client = dgram.createSocket('udp4');
    cleanup(() => void client.close());
    const send = (text: string): Promise<void> =>
      new Promise((resolve, reject) =>
        client.send(text, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    await send('<14>app: lost one');
    await send('<14>app: lost two');
    await new Promise((r) => setTimeout(r, 100));
    expect(dropped).toBe(2);
    expect(logged).toEqual([]);
    sink.accepting = true;
    sink.spoolFull = false;
    resume();
    await send('<14>app: kept');
    await new Promise((r) => setTimeout(r, 100));
    expect(logged.map((r) => r.msg)).toEqual(['kept']);
    expect(dropped).toBe(2);
  });
});
