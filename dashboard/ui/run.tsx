import React from 'react';
import { render } from 'ink';
import type { Severity } from '../../protocol/index.js';
import { createScreenFeed, createStore } from '../screen.js';
import { initialState } from '../state.js';
import type { TailSink } from '../output/sink.js';
import { App } from './App.js';

export interface ScreenOptions {
  patterns: readonly string[];
  color: boolean;
  minSeverity?: Severity | null;
}

export interface Screen {
  sink: TailSink;
  /** Resolves when the user quits (q or Ctrl-C). */
  exited: Promise<void>;
  /** Shows a last line (e.g. why the run failed) and unmounts. */
  close(): Promise<void>;
}

/** Ink's copy of everything <Static> printed: beyond this it keeps only the newest part. */
const STATIC_COPY_MAX = 512 * 1024;
const STATIC_COPY_KEEP = 128 * 1024;

/**
 * Ink keeps every <Static> line it ever printed in memory (`fullStaticOutput`), only to redraw
 * them when the live area is taller than the terminal: a tail printing 2 000 lines/s for hours
 * would grow without bound. The terminal's scrollback has them; Ink needs only the newest.
 * Ink does not export its instances, so this reaches its internal module; if that ever changes,
 * it does nothing (the screen still works, it just keeps Ink's copy).
 */
export async function boundInkStaticCopy(
  stdout: object,
  limits: { max: number; keep: number; everyMs: number } = {
    max: STATIC_COPY_MAX,
    keep: STATIC_COPY_KEEP,
    everyMs: 2000,
  },
): Promise<NodeJS.Timeout | undefined> {
  try {
    const url = new URL('./instances.js', import.meta.resolve('ink'));
    const { default: instances } = (await import(url.href)) as {
      default: WeakMap<object, Record<string, unknown>>;
    };
    const timer = setInterval(() => {
      const instance = instances.get(stdout);
      const copy = instance?.fullStaticOutput;
      if (instance === undefined || typeof copy !== 'string' || copy.length <= limits.max) return;
      const from = copy.indexOf('\n', copy.length - limits.keep);
      instance.fullStaticOutput = copy.slice(from < 0 ? copy.length - limits.keep : from + 1);
    }, limits.everyMs);
    timer.unref();
    return timer;
  } catch {
    return undefined;
  }
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
  const instance = render(<App store={store} color={options.color} />, {
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
