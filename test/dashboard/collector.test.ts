import { describe, expect, it } from 'vitest';
import { runBin, type RunningBin, stopBin } from '../../testkit/processes.js';
import { useRealCollector } from '../../testkit/suite.js';
import { waitUntil } from '../../testkit/wait.js';

/**
 * logtail --since against the real collector and its HTTP API: a stream published without pause
 * before, during and after logtail's backfill must come out whole, each record exactly once.
 */
describe('logtail --since with the real logcollect', () => {
  const suite = useRealCollector('dashboard-seam');
  const { exchange } = suite;

  it('hands over from the stored history to the live stream with no gap and no duplicate', async () => {
    const channel = await suite.connection.createConfirmChannel();
    let seq = 0;
    const publishBatch = async (): Promise<void> => {
      const records = [0, 1].map(() => {
        seq++;
        return JSON.stringify({
          id: `seam-${seq}`,
          ts: new Date().toISOString(),
          host: 'web-01',
          msg: `record ${seq}`,
        });
      });
      channel.publish(
        exchange,
        seq % 4 === 0 ? 'kern.error' : 'app.critical',
        Buffer.from(records.join('\n') + '\n'),
        {
          contentType: 'application/x-ndjson',
          messageId: `batch-${seq}`,
        },
      );
      await channel.waitForConfirms();
    };
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await publishBatch();
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let tail: RunningBin | undefined;
    try {
      // History the collector already stored...
      await waitUntil('the collector stored the first records', async () => {
        const res = await fetch(`${suite.api}/api/logs?pattern=%23&limit=10`);
        return ((await res.json()) as { records: unknown[] }).records.length >= 10;
      });
      // ...then logtail starts while the stream goes on, backfills, and goes live.
      tail = runBin('logtail', [
        '--json',
        '--exchange',
        exchange,
        '--api',
        suite.api,
        '--since',
        '1h',
        '*.error+',
      ]);
      await waitUntil('logtail to print live records', () => {
        const out = tail?.stdout() ?? '';
        return out.includes(`"seam-${seq - 40}"`) && seq > 200;
      });
    } finally {
      streaming = false;
      await stream;
    }
    const last = seq;
    await waitUntil(
      'logtail to print the last record',
      () => tail?.stdout().includes(`"seam-${last}"`) ?? false,
    );
    expect(await stopBin(tail)).toBe(0);
    await channel.close();

    const ids = tail
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    const numbers = ids.map((id) => Number(id.replace('seam-', '')));
    expect(new Set(ids).size).toBe(ids.length);
    expect(numbers).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(tail.stderr()).toBe('');
  });
});
