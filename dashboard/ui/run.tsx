import React from 'react';
import { render } from 'ink';
import type { Severity } from '../../protocol/index.js';
import { createScreenFeed, createStore } from '../screen.js';
import { initialState } from '../state.js';
import type { TailSink } from '../output/sink.js';
import type { ApiOptions } from '../api.js';
import { loadContext } from '../context.js';
import type { Context } from '../state.js';
import { App } from './App.js';
import { boundInkStaticCopy } from './ink-static-copy.js';

export interface ScreenOptions {
  patterns: readonly string[];
  color: boolean;
  minSeverity?: Severity | null;
  /** Where a selected record's context is read. */
  api: ApiOptions;
}

export interface Screen {
  sink: TailSink;
  /** Resolves when the user quits (q or Ctrl-C). */
  exited: Promise<void>;
  /** Shows a last line (e.g. why the run failed) and unmounts. */
  close(): Promise<void>;
}

/** Mounts the Ink screen; the records arrive through `sink`, the keys through Ink's stdin. */
export function mountScreen(options: ScreenOptions): Screen {
  const store = createStore(
    initialState(options.patterns, Date.now(), undefined, options.minSeverity ?? null),
  );
  const feed = createScreenFeed(store);
  // One-second ticks keep records/s honest when nothing arrives.
  const ticker = setInterval(() => store.dispatch({ type: 'tick', now: Date.now() }), 1000);
  ticker.unref();
  const loadContextFor = (id: string): Promise<Context> => loadContext(options.api, id);
  const instance = render(<App store={store} color={options.color} loadContext={loadContextFor} />, {
    exitOnCtrlC: true,
    patchConsole: true,
    maxFps: 20,
  });
  const bounding = boundInkStaticCopy(process.stdout);
  const exited = instance.waitUntilExit().then(
    () => undefined,
    () => undefined,
  );
  return {
    sink: feed,
    exited,
    async close() {
      feed.flush();
      feed.stop();
      clearInterval(ticker);
      clearInterval(await bounding);
      instance.unmount();
      await exited;
    },
  };
}
