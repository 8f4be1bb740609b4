import { sleep } from '../protocol/index.js';

/**
 * Polls `check` every `everyMs` until it returns true, or throws naming `what` after `timeoutMs`
 * (for hooks and harnesses, where vitest's expect.poll is not available).
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(everyMs);
  }
}
