import { describe, expect, it } from 'vitest';
import { formatSize, parseAgentArgs, parseSize } from '../../agents/options.js';
import { shipperSettingsOf } from '../../agents/shipper.js';
import { readWholeNumber } from '../../protocol/index.js';

describe('logship configuration', () => {
  it("hands the shipper exactly its own settings out of logship's config", () => {
    const config = parseAgentArgs(
      ['--facility', 'kern', '--window', '8', '--spool', '/tmp/knowledge-spool'],
      {},
    );
    const settings = shipperSettingsOf(config);
    expect(Object.keys(settings).sort()).toEqual(
      [
        'amqpUrl',
        'app',
        'batch',
        'exchange',
        'facility',
        'host',
        'memoryBytes',
        'severity',
        'shutdownTimeoutMs',
        'spoolDir',
        'spoolMaxBytes',
        'window',
      ].sort(),
    );
    expect(settings).toMatchObject({ facility: 'kern', window: 8, spoolDir: '/tmp/knowledge-spool' });
  });

  it('writes help-text sizes that read back to the same bytes', () => {
    for (const bytes of [1024 ** 3, 256 * 1024, 32 * 1024 ** 2, 65_536, 1000]) {
      expect(parseSize(formatSize(bytes), 'x')).toBe(bytes);
    }
    expect([formatSize(1024 ** 3), formatSize(256 * 1024), formatSize(1000)]).toEqual(['1g', '256k', '1000']);
  });

  it('reads whole numbers within bounds, and nothing else', () => {
    expect(readWholeNumber(' 42 ', { min: 1 })).toBe(42);
    expect(readWholeNumber(7, { min: 1, max: 10 })).toBe(7);
    for (const bad of ['', '1.5', 'x', '0', '11'])
      expect(readWholeNumber(bad, { min: 1, max: 10 })).toBeUndefined();
  });
});
