import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, parsePattern } from '../../protocol/index.js';
import { COLLECTOR_DEFAULTS, parseListen, resolveCollectorConfig } from '../../collector/config.js';
import { prefetchFor } from '../../collector/ingest/batch.js';
import { openDatabase } from '../../collector/store/database.js';
import { tempDir } from '../../testkit/temp.js';

describe('collector configuration', () => {
  it('takes the contract defaults, frozen', () => {
    const config = resolveCollectorConfig({}, {});
    expect(config).toMatchObject({
      queue: 'logs.archive',
      bindings: ['#'],
      dbPath: './data/warren.db',
      listen: { host: '127.0.0.1', port: 8080 },
      quorum: false,
      retention: [],
      batchRecords: COLLECTOR_DEFAULTS.batchRecords,
      prefetch: COLLECTOR_DEFAULTS.prefetch,
    });
    expect(config.names).toMatchObject({ exchange: 'logs', dead: 'logs.dead', unrouted: 'logs.unrouted' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('derives names from the exchange and the environment, flags winning', () => {
    const config = resolveCollectorConfig(
      { exchange: 'flag' },
      { WARREN_EXCHANGE: 'env', WARREN_TOKEN: 's3cret' },
    );
    expect(config.queue).toBe('flag.archive');
    expect(config.token).toBe('s3cret');
    expect(resolveCollectorConfig({}, { WARREN_EXCHANGE: 'env' }).queue).toBe('env.archive');
  });

  it('expands severity ranges into bindings and keeps retention rules in order', () => {
    const config = resolveCollectorConfig(
      { bind: ['*.error+', 'kern.#'], retention: ['*.debug=1d', '#=30d'] },
      {},
    );
    expect(config.bindings).toEqual([...parsePattern('*.error+').bindings, 'kern.#']);
    expect(config.bindings).toEqual(expect.arrayContaining(['*.error', '*.err', '*.CRIT', '*.EMERGENCY']));
    expect(config.retention.map((r) => [r.source, r.maxAgeMs])).toEqual([
      ['*.debug', 86_400_000],
      ['#', 30 * 86_400_000],
    ]);
  });

  it('rejects bad input with a usage error that says what to do', () => {
    const bad = (
      flags: Parameters<typeof resolveCollectorConfig>[0],
      code: string = ErrorCodes.BAD_USAGE,
    ): void => {
      expect(() => resolveCollectorConfig(flags, {})).toThrow(expect.objectContaining({ code }));
    };
    bad({ bind: ['kern..x'] }, ErrorCodes.BAD_PATTERN);
    bad({ listen: 'localhost' });
    bad({ listen: '127.0.0.1:99999' });
    bad({ prefetch: '10', batchMessages: '100' });
    bad({ batchRecords: '0' });
    bad({ lingerMs: 'soon' });
    bad({ queue: 'amq.mine' });
    bad({ db: ' ' });
    bad({ retention: ['#=0s'] });
    bad({ amqp: 'http://x' });
  });

  it('parses listen addresses', () => {
    expect(parseListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListen(':0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
  });

  it('sizes the prefetch to about two batches of the records per message', () => {
    const config = { batchRecords: 5000, batchMessages: 1000, prefetch: 2000 };
    expect(prefetchFor(1, config)).toBe(2000);
    expect(prefetchFor(500, config)).toBe(20);
    expect(prefetchFor(40_000, config)).toBe(2);
  });

  it('says clearly when the store cannot be created', () => {
    const { dir, remove } = tempDir();
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    // A directory under a regular file cannot be created (ENOTDIR).
    expect(() => openDatabase(path.join(file, 'sub', 'warren.db'))).toThrow(
      expect.objectContaining({
        code: ErrorCodes.STORE_UNAVAILABLE,
        hint: expect.stringContaining('--db') as unknown,
      }),
    );
    remove();
  });
});
