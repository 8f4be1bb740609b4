import type { ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { deleteTopology, openConnection, uniqueName } from './broker.js';
import { startCollector, stopBin, type RunningBin } from './processes.js';
import { tempDir } from './temp.js';

/** What a describe block gets from `useRealCollector`; `api` and `connection` are set by its beforeAll. */
export interface RealCollector {
  readonly exchange: string;
  readonly dir: string;
  readonly api: string;
  readonly connection: ChannelModel;
}

/**
 * A real `bin/logcollect.js` for the enclosing describe block: its own exchange, temp dir, HTTP
 * port and client connection, all removed after the block. Call it before the block's own hooks
 * (vitest runs after-hooks in reverse, so the block's tear-down still has the connection).
 */
export function useRealCollector(area: string): RealCollector {
  const exchange = uniqueName(`test-${area}`);
  const { dir, remove } = tempDir(area);
  let api = '';
  let connection: ChannelModel | undefined;
  let collector: RunningBin | undefined;

  beforeAll(async () => {
    connection = await openConnection(`${exchange}-client`);
    ({ collector, api } = await startCollector(exchange, dir));
  }, 60_000);

  afterAll(async () => {
    if (collector !== undefined) await stopBin(collector);
    if (connection !== undefined) {
      await connection.close();
      await deleteTopology(exchange);
    }
    remove();
  });

  return {
    exchange,
    dir,
    get api() {
      return api;
    },
    get connection() {
      if (connection === undefined) throw new Error('useRealCollector: used before its beforeAll ran');
      return connection;
    },
  };
}

/**
 * A list of clean-ups for each test of the enclosing block, run after each test in reverse order
 * (last set up, first torn down); returns how to add one.
 */
export function useCleanups(): (cleanup: () => Promise<void> | void) => void {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}
