import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isWarrenError } from '../../protocol/index.js';
import { applicationName, createShipper } from '../../agents/index.js';
import { AMQP_URL } from '../../testkit/broker.js';
import { tempDir } from '../../testkit/temp.js';
import { useCleanups } from '../../testkit/suite.js';
import { createSink } from './helpers.js';

const cleanup = useCleanups();

describe('createShipper (Node API)', () => {
  it('rejects at once with a clear error when RabbitMQ refuses the login, instead of spooling', async () => {
    const { dir: spool, remove: removeSpool } = tempDir('agents');
    cleanup(removeSpool);
    const wrong = new URL(AMQP_URL);
    wrong.password = 'not-the-password';
    const started = Date.now();
    const error: unknown = await createShipper({ amqp: wrong.toString(), spool }).catch(
      (err: unknown) => err,
    );
    expect(isWarrenError(error) && error.code).toBe(ErrorCodes.BROKER_AUTH);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('ships log(severity, msg, fields) records and delivers them all on close', async () => {
    const sink = await createSink('agents-api');
    cleanup(() => sink.close());
    const { dir: spool, remove: removeSpool } = tempDir('agents');
    cleanup(removeSpool);
    const shipper = await createShipper({
      amqp: AMQP_URL,
      exchange: sink.exchange,
      spool,
      facility: 'billing',
      app: 'billing-api',
    });
    shipper.log('warn', 'card declined', { order: 42 });
    shipper.log('crit', 'ledger mismatch');
    // An unknown severity name costs nothing but the name: the default (info) is used.
    shipper.log('chatty', 'hello');
    const result = await shipper.close();
    expect(result).toEqual({ lost: 0, dropped: 0, spoolBytes: 0 });
    const received = await sink.take();
    // One message per routing key: compare in key order.
    const got = received
      .map((r) => [r.key, r.record.msg, r.record.fields])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(got).toEqual([
      ['billing.critical', 'ledger mismatch', undefined],
      ['billing.info', 'hello', undefined],
      ['billing.warning', 'card declined', { order: 42 }],
    ]);
    expect(received).toHaveLength(3);
    expect(received.every((r) => r.record.app === 'billing-api')).toBe(true);
  });

  it('rejects a bad facility before connecting', async () => {
    const err = await createShipper({ amqp: AMQP_URL, facility: 'Bad Facility' }).catch((e: unknown) => e);
    expect(isWarrenError(err, 'WARREN_BAD_FACILITY')).toBe(true);
  });

  it('names the application after package.json, else the script', () => {
    const { dir, remove: removeDir } = tempDir('agents');
    cleanup(removeDir);
    expect(applicationName(dir, '/srv/app/server.mjs')).toBe('server');
    fs.writeFileSync(`${dir}/package.json`, JSON.stringify({ name: '@acme/billing-api' }));
    expect(applicationName(dir, '/srv/app/server.mjs')).toBe('@acme/billing-api');
  });
});
