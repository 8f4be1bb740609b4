import { statusText, type TailSink } from './output/sink.js';
import { reduce, type Action } from './reducer.js';
import type { TailState } from './state.js';
import { addToTally, emptyTally } from './tally.js';

/** The screen's state holder: the reducer behind a subscribe/getState pair for useSyncExternalStore. */
export interface Store {
  readonly getState: () => TailState;
  readonly dispatch: (action: Action) => void;
  readonly subscribe: (listener: () => void) => () => void;
}

export function createStore(initial: TailState): Store {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch: (action) => {
      const next = reduce(state, action);
      if (next === state) return;
      state = next;
      for (const listener of listeners) listener();
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export interface ScreenFeedOptions {
  /** How often arriving records are handed to the screen in one batch (ms). */
  intervalMs?: number;
  now?: () => number;
}

/**
 * The TailSink of the Ink screen. Records are collected and dispatched in one batch per interval,
 * so the screen renders a few times a second however fast records arrive; the reducer draws at
 * most a frame's worth of lines and summarises the rest. Never blocks the broker: acks go at once.
 */
export function createScreenFeed(
  store: Store,
  options: ScreenFeedOptions = {},
): TailSink & { stop(): void; flush(): void } {
  const now = options.now ?? Date.now;
  let tally = emptyTally();
  let dropped = 0;
  const flush = (): void => {
    if (tally.total > 0) {
      const batch = tally;
      tally = emptyTally();
      store.dispatch({ type: 'tally', tally: batch, now: now() });
    } else {
      store.dispatch({ type: 'tick', now: now() });
    }
    if (dropped > 0) {
      store.dispatch({ type: 'dropped', count: dropped });
      dropped = 0;
    }
  };
  const timer = setInterval(flush, options.intervalMs ?? 100);
  timer.unref();
  return {
    records(records) {
      // Folded in at once: a record that will only be counted does not outlive this message.
      addToTally(tally, store.getState(), records, now());
    },
    status(status, detail) {
      store.dispatch({
        type: 'connection',
        status,
        detail: detail === undefined ? undefined : statusText(detail),
      });
    },
    dropped(count, where) {
      dropped += count;
      if (where === 'seam')
        store.dispatch({ type: 'notice', text: `${count} live records dropped while the history was read` });
    },
    notice(text) {
      store.dispatch({ type: 'notice', text });
    },
    flush,
    stop() {
      clearInterval(timer);
    },
  };
}
