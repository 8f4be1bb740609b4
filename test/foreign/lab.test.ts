// The foreign-client lab: each runner of testkit/foreign.ts really delivers, through the real
// client, to a throw-away topic exchange of this file's own (no Warren code involved).
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  requireForeignClients,
  runAmqpPublish,
  runLogger,
  runPika,
  runSyslogNg,
  type ProcessResult,
} from '../../testkit/foreign.js';
import { AMQP_URL, openConnection, uniqueName } from '../../testkit/broker.js';
import { freePort } from '../../testkit/net.js';

const exchange = uniqueName('test-foreign');
let connection: ChannelModel;
let channel: Channel;
const received: ConsumeMessage[] = [];

/** The first message (by now or within 10 s) whose body contains `token`, unique per test. */
async function messageWith(token: string): Promise<ConsumeMessage> {
  let found: ConsumeMessage | undefined;
  await expect
    .poll(() => (found = received.find((message) => message.content.toString('utf8').includes(token))), {
      timeout: 10_000,
      interval: 50,
    })
    .toBeDefined();
  return found as ConsumeMessage;
}

function expectSuccess(result: ProcessResult): void {
  expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(0);
}

beforeAll(async () => {
  requireForeignClients();
  connection = await openConnection(`${exchange}-lab`);
  channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: false });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, '#');
  await channel.consume(
    queue,
    (message) => {
      if (message !== null) received.push(message);
    },
    { noAck: true },
  );
});

afterAll(async () => {
  await channel?.deleteExchange(exchange);
  await connection?.close();
});

describe('pika (examples/pika/publish.py)', () => {
  it('publishes persistent, with its content type, headers and message id', async () => {
    expectSuccess(
      await runPika({
        amqp: AMQP_URL,
        exchange,
        routingKey: 'auth.warning',
        body: 'pika-token: Failed password for root',
        contentType: 'text/plain',
        headers: { host: 'web-01' },
        messageId: 'pika-1',
      }),
    );
    const message = await messageWith('pika-token');
    expect(message.fields.routingKey).toBe('auth.warning');
    expect(message.content.toString('utf8')).toBe('pika-token: Failed password for root');
    expect(message.properties).toMatchObject({
      deliveryMode: 2,
      contentType: 'text/plain',
      messageId: 'pika-1',
      headers: { host: 'web-01' },
    });
  });
});

describe('amqp-publish (amqp-tools)', () => {
  it('publishes persistent with -p, the content type of -C and the headers of -H', async () => {
    const body = JSON.stringify({ msg: 'amqp-publish-token' });
    expectSuccess(
      await runAmqpPublish({
        amqp: AMQP_URL,
        exchange,
        routingKey: 'app.info',
        body,
        contentType: 'application/json',
        headers: { host: 'web-02' },
      }),
    );
    const message = await messageWith('amqp-publish-token');
    expect(message.fields.routingKey).toBe('app.info');
    expect(message.content.toString('utf8')).toBe(body);
    expect(message.properties).toMatchObject({
      deliveryMode: 2,
      contentType: 'application/json',
      headers: { host: 'web-02' },
    });
  });

  it('exits 1 when the exchange does not exist (it declares nothing)', async () => {
    const result = await runAmqpPublish({
      amqp: AMQP_URL,
      exchange: `${exchange}-missing`,
      routingKey: 'x.y',
      body: 'lost',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOT_FOUND');
  });
});

describe('syslog-ng amqp()', () => {
  const dirs: string[] = [];
  /** Each syslog-ng gets its own config, pid, persist file and control socket. */
  async function scratchDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'warren-foreign-syslog-ng-'));
    dirs.push(dir);
    return dir;
  }
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('publishes $MSG with the routing key $FACILITY.$LEVEL and the message as headers', async () => {
    const syslogNg = await runSyslogNg({
      dir: await scratchDir(),
      amqp: AMQP_URL,
      exchange,
      sourcePort: await freePort(),
    });
    try {
      await syslogNg.send([
        '<155>1 2026-11-21T22:33:54.123Z web-01 myapp 99 ID47 [origin@32473 x="1"] sng-tcp-token',
      ]);
      await syslogNg.send(['<36>Nov 21 22:33:54 web-02 sshd[4242]: sng-udp-token'], 'udp');
      const tcp = await messageWith('sng-tcp-token');
      expect(tcp.fields.routingKey).toBe('local3.err');
      expect(tcp.content.toString('utf8')).toBe('sng-tcp-token');
      expect(tcp.properties).toMatchObject({
        contentType: 'text/plain',
        deliveryMode: 2,
        headers: {
          HOST: 'web-01',
          PROGRAM: 'myapp',
          PID: '99',
          MSGID: 'ID47',
          FACILITY: 'local3',
          PRIORITY: 'err',
          MESSAGE: 'sng-tcp-token',
          DATE: 'Nov 21 22:33:54.123',
          '.SDATA.origin@32473.x': '1',
        },
      });
      const udp = await messageWith('sng-udp-token');
      expect(udp.fields.routingKey).toBe('auth.warning');
      expect(udp.properties.headers).toMatchObject({ HOST: 'web-02', PROGRAM: 'sshd', PID: '4242' });
    } finally {
      expect(await syslogNg.stop()).toBe(0);
    }
  });

  it('publishes the format-json body variant, still as text/plain', async () => {
    const syslogNg = await runSyslogNg({
      dir: await scratchDir(),
      amqp: AMQP_URL,
      exchange,
      jsonBody: true,
      sourcePort: await freePort(),
    });
    try {
      await syslogNg.send(['<165>1 2026-11-21T22:33:54.123Z web-03 api - - - sng-json-token']);
      const message = await messageWith('sng-json-token');
      expect(message.fields.routingKey).toBe('local4.notice');
      expect(message.properties.contentType).toBe('text/plain');
      expect(JSON.parse(message.content.toString('utf8'))).toEqual({
        HOST: 'web-03',
        PROGRAM: 'api',
        FACILITY: 'local4',
        PRIORITY: 'notice',
        MESSAGE: 'sng-json-token',
        ISODATE: expect.stringMatching(/^2026-11-21T\d\d:33:54\.123[+-]\d\d:\d\d$/) as unknown,
      });
    } finally {
      expect(await syslogNg.stop()).toBe(0);
    }
  });
});

describe('logger (util-linux)', () => {
  it('sends an RFC 3164 datagram over UDP', async () => {
    const socket = dgram.createSocket('udp4');
    const datagram = new Promise<string>((resolve) =>
      socket.once('message', (msg) => resolve(msg.toString('utf8'))),
    );
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const port = socket.address().port;
      expectSuccess(
        await runLogger({
          host: '127.0.0.1',
          port,
          protocol: 'udp',
          format: 'rfc3164',
          priority: 'auth.warning',
          tag: 'sshd',
          pid: 4242,
          message: 'logger-udp-token',
        }),
      );
      expect(await datagram).toMatch(
        /^<36>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ sshd\[4242\]: logger-udp-token$/,
      );
    } finally {
      socket.close();
    }
  });

  it('sends RFC 5424 over TCP, LF-terminated, or octet-counted with --octet-count', async () => {
    let stream = '';
    const server = net.createServer((socket) =>
      socket.setEncoding('utf8').on('data', (chunk: string) => (stream += chunk)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const send = {
        host: '127.0.0.1',
        port,
        protocol: 'tcp',
        format: 'rfc5424',
        priority: 'local3.err',
        tag: 'myapp',
        msgid: 'ID47',
      } as const;
      expectSuccess(await runLogger({ ...send, message: 'logger-lf-token' }));
      await expect.poll(() => stream).toContain('logger-lf-token\n');
      expect(stream).toMatch(/^<155>1 \d{4}-\d\d-\d\dT\S+ \S+ myapp - ID47 .*logger-lf-token\n$/);
      stream = '';
      expectSuccess(await runLogger({ ...send, octetCount: true, message: 'logger-octet-token' }));
      await expect.poll(() => stream).toContain('logger-octet-token');
      const [, length = '', frame = ''] = /^(\d+) (.*)$/s.exec(stream) ?? [];
      expect(Buffer.byteLength(frame)).toBe(Number(length));
      expect(frame).toMatch(/^<155>1 .*logger-octet-token$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
