import { describe, expect, it } from 'vitest';
import {
  brokerAddresses,
  DEFAULT_AMQP_URL,
  ErrorCodes,
  isWarrenError,
  parseDuration,
  parseTimeOrDuration,
  redactUrl,
  resolveCommonConfig,
  topologyNames,
} from '../../protocol/index.js';

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isWarrenError(err) ? err.code : 'other';
  }
  return undefined;
}

describe('durations and times', () => {
  it('parses durations with units', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it.each(['', '15', 'm', '15 minutes', '-5m', '5x'])('rejects %j', (input) => {
    expect(errorCode(() => parseDuration(input))).toBe(ErrorCodes.BAD_DURATION);
  });

  it('reads a time as ISO 8601 or a duration ago', () => {
    const now = new Date('2026-11-21T22:00:00Z');
    expect(parseTimeOrDuration('15m', now).toISOString()).toBe('2026-11-21T21:45:00.000Z');
    expect(parseTimeOrDuration('2026-11-20T10:00:00Z', now).toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(errorCode(() => parseTimeOrDuration('March 7', now))).toBe(ErrorCodes.BAD_DURATION);
    expect(errorCode(() => parseTimeOrDuration('2026-13-45', now))).toBe(ErrorCodes.BAD_DURATION);
  });
});

describe('common configuration', () => {
  it('takes flags over environment over defaults, and freezes the result', () => {
    const env = { AMQP_URL: 'amqp://u:p@broker:5672', WARREN_EXCHANGE: 'envlogs', WARREN_TOKEN: 's3cret' };
    const fromEnv = resolveCommonConfig({}, env);
    expect(fromEnv).toEqual({
      amqpUrl: 'amqp://u:p@broker:5672',
      exchange: 'envlogs',
      apiUrl: 'http://127.0.0.1:8080',
      token: 's3cret',
    });
    expect(Object.isFrozen(fromEnv)).toBe(true);
    const fromFlags = resolveCommonConfig({ exchange: 'flaglogs', api: 'http://h:1/' }, env);
    expect(fromFlags.exchange).toBe('flaglogs');
    expect(fromFlags.apiUrl).toBe('http://h:1');
    expect(resolveCommonConfig({}, {}).amqpUrl).toBe(DEFAULT_AMQP_URL);
    expect(resolveCommonConfig({}, { WARREN_TOKEN: '' }).token).toBeUndefined();
  });

  it('rejects bad URLs and exchange names as usage errors', () => {
    expect(errorCode(() => resolveCommonConfig({ amqp: 'http://x' }, {}))).toBe(ErrorCodes.BAD_USAGE);
    expect(errorCode(() => resolveCommonConfig({ amqp: 'not a url' }, {}))).toBe(ErrorCodes.BAD_USAGE);
    expect(errorCode(() => resolveCommonConfig({ exchange: 'amq.topic' }, {}))).toBe(ErrorCodes.BAD_USAGE);
    expect(errorCode(() => resolveCommonConfig({ exchange: 'bad name' }, {}))).toBe(ErrorCodes.BAD_USAGE);
    // Each node of a cluster's list is checked.
    expect(errorCode(() => resolveCommonConfig({ amqp: 'amqp://a:5701,http://b' }, {}))).toBe(
      ErrorCodes.BAD_USAGE,
    );
  });

  it("takes a cluster's node URLs separated by commas", () => {
    const { amqpUrl } = resolveCommonConfig({}, { AMQP_URL: ' amqp://a:5701 , amqp://b:5702,' });
    expect(amqpUrl).toBe('amqp://a:5701,amqp://b:5702');
    expect(brokerAddresses(amqpUrl)).toEqual(['amqp://a:5701', 'amqp://b:5702']);
  });

  it('never shows a password', () => {
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('amqp://127.0.0.1')).toBe('amqp://127.0.0.1');
    expect(redactUrl('amqp://u:p@a:5701,amqp://u:p@b:5702')).toBe('amqp://u:***@a:5701,amqp://u:***@b:5702');
  });

  it('derives every broker name from the exchange', () => {
    expect(topologyNames('acme')).toEqual({
      exchange: 'acme',
      collect: 'acme.collect',
      unrouted: 'acme.unrouted',
      archive: 'acme.archive',
      dead: 'acme.dead',
    });
  });
});
