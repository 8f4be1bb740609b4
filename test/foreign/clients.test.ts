import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../testkit/net.js';
import { requireForeignClients, runPika, runSyslogNg, type RunningSyslogNg } from '../../testkit/foreign.js';
import type { StoredRecord } from '../../protocol/index.js';
import { AMQP_URL } from '../../testkit/broker.js';
import { type RunningBin, startLiveTail, stopBin } from '../../testkit/processes.js';
import { useRealCollector } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';

/** A record as GET /api/logs and `logtail --json` give it (CONTRACT §6). */
type Row = StoredRecord;

/**
 * Foreign publishers through the real clients (issue 13 items 3, 4, 6): the RabbitMQ tutorials'
 * pika and syslog-ng's amqp() → RabbitMQ → logcollect → the API and logtail --json, each asserted
 * field by field as its sender meant it.
 */
describe('foreign publishers, stored and tailed as they meant it', () => {
  const suite = useRealCollector('foreign-clients');
  let tail: RunningBin;
  let syslogText: RunningSyslogNg;
  let syslogJson: RunningSyslogNg;

  const scratch = (name: string): string => {
    const dir = path.join(suite.dir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    requireForeignClients(['pika', 'syslogNg']);
    tail = await startLiveTail(suite.connection, suite.exchange, ['#'], { probeKey: 'probe.info' });
    const [textPort, jsonPort] = [await freePort(), await freePort()];
    const common = { amqp: AMQP_URL, exchange: suite.exchange };
    syslogText = await runSyslogNg({ ...common, dir: scratch('syslog-ng-text'), sourcePort: textPort });
    syslogJson = await runSyslogNg({
      ...common,
      dir: scratch('syslog-ng-json'),
      sourcePort: jsonPort,
      jsonBody: true,
    });
  }, 60_000);

  afterAll(async () => {
    await syslogText?.stop();
    await syslogJson?.stop();
    if (tail !== undefined) await stopBin(tail);
  });

  /** The one stored row whose msg holds `word`, once stored, and the same record on logtail's stdout. */
  async function storedAndTailed(word: string): Promise<{ row: Row; tailed: Row }> {
    let row: Row | undefined;
    await waitUntil(`a stored record with '${word}'`, async () => {
      const response = await fetch(`${suite.api}/api/logs?q=${word}`);
      row = ((await response.json()) as { records: Row[] }).records[0];
      return row !== undefined;
    });
    let tailed: Row | undefined;
    await waitUntil(`logtail printing '${word}'`, () => {
      tailed = tail
        .stdout()
        .split('\n')
        .filter((line) => line.includes(word))
        .map((line) => JSON.parse(line) as Row)[0];
      return tailed !== undefined;
    });
    return { row: row!, tailed: tailed! };
  }

  it('pika, plain text as the tutorial sends it: the key says facility and severity, the body is the message', async () => {
    const sent = Date.now();
    const result = await runPika({
      amqp: AMQP_URL,
      exchange: suite.exchange,
      routingKey: 'auth.err',
      body: 'pikaplain login refused',
    });
    expect(result.code, result.stderr).toBe(0);
    const { row, tailed } = await storedAndTailed('pikaplain');
    expect(row).toMatchObject({
      facility: 'auth',
      severity: 'error',
      msg: 'pikaplain login refused',
      routing_key: 'auth.err',
    });
    expect(row.host).toBeUndefined();
    expect(row.app).toBeUndefined();
    expect(row.pid).toBeUndefined();
    expect(row.fields).toBeUndefined();
    expect(Math.abs(Date.parse(row.ts) - sent)).toBeLessThan(30_000);
    // No timestamp on the message: each consumer stamps its own arrival, milliseconds apart.
    expect({ ...tailed, ts: undefined }).toMatchObject({ ...row, ts: undefined });
    expect(Math.abs(Date.parse(tailed.ts) - Date.parse(row.ts))).toBeLessThan(5_000);
  });

  it('pika, a pino line as application/json: time, hostname, name and a numeric-string pid are read, every other key kept in fields', async () => {
    const time = Date.parse('2026-11-20T08:15:30.250Z');
    const body = JSON.stringify({
      level: 50,
      time,
      pid: '4242',
      hostname: 'web-07',
      name: 'billing',
      msg: 'pikajson card declined',
      status: 500,
      user: 'bob',
      fields: 'not an object',
    });
    const result = await runPika({
      amqp: AMQP_URL,
      exchange: suite.exchange,
      routingKey: 'billing.error',
      body,
      contentType: 'application/json',
    });
    expect(result.code, result.stderr).toBe(0);
    const { row, tailed } = await storedAndTailed('pikajson');
    expect(row).toMatchObject({
      facility: 'billing',
      severity: 'error',
      host: 'web-07',
      app: 'billing',
      pid: 4242,
      ts: '2026-11-20T08:15:30.250Z',
      msg: 'pikajson card declined',
      fields: { status: 500, user: 'bob', fields: 'not an object' },
    });
    expect(tailed).toMatchObject(row);
  });

  it('a record stamped far in the future is stored at its arrival, with the time it said kept', async () => {
    const sent = Date.now();
    const body = JSON.stringify({ msg: 'pikafuture clock skew', ts: '2099-01-01T00:00:00.000Z' });
    const result = await runPika({
      amqp: AMQP_URL,
      exchange: suite.exchange,
      routingKey: 'app.info',
      body,
      contentType: 'application/json',
    });
    expect(result.code, result.stderr).toBe(0);
    const { row } = await storedAndTailed('pikafuture');
    expect(Math.abs(Date.parse(row.ts) - sent)).toBeLessThan(30_000);
    expect(row.fields).toEqual({ original_ts: '2099-01-01T00:00:00.000Z' });
  });

  // An RFC 5424 frame an hour old, from another host: syslog-ng keeps its host (keep-hostname).
  const hourAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 123);
  const frame = (word: string): string =>
    `<155>1 ${hourAgo.toISOString()} web-01 myapp 99 ID47 [origin@32473 x="1"] ${word} disk almost full`;

  it.each([
    ['text body: host, app, pid and time come from its headers', 'sngtext', 'udp'],
    ['format-json body (labelled text/plain): read as a record', 'sngjson', 'tcp'],
  ] as const)('syslog-ng amqp(), %s', async (_what, word, transport) => {
    await (word === 'sngtext' ? syslogText : syslogJson).send([frame(word)], transport);
    const { row, tailed } = await storedAndTailed(word);
    expect(row).toMatchObject({
      facility: 'local3',
      severity: 'error',
      routing_key: 'local3.err',
      host: 'web-01',
      app: 'myapp',
      pid: 99,
      ts: hourAgo.toISOString(),
      msg: `${word} disk almost full`,
    });
    expect(row.fields).toMatchObject({ msgid: 'ID47', sdata: { 'origin@32473': { x: '1' } } });
    expect(tailed).toMatchObject(row);
  });
});
