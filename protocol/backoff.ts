/** Exponential back-off with full jitter, so a fleet of agents doesn't reconnect in lock-step. */
export interface BackoffOptions {
  /** First delay's upper bound, ms (default 250). */
  minMs?: number;
  /** Cap on any delay, ms (default 10 000). */
  maxMs?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const min = options.minMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const ceiling = Math.min(max, min * 2 ** Math.max(0, attempt));
  const random = options.random ?? Math.random;
  return Math.max(min / 2, Math.round(ceiling * random()));
}

/** Resolves after `ms`, or at once when the signal aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
