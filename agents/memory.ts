import v8 from 'node:v8';
import vm from 'node:vm';

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

let collect: GcFunction | undefined;

/**
 * Node frees a Buffer's memory only when V8 collects its wrapper, and V8 lets tens of MiB of
 * such garbage pile up first. The agent makes a body buffer per batch (and amqplib a frame copy
 * of it), so RSS would float far above what it holds. The logship process (never a library
 * user's, such as the pino transport's host) asks for a cheap young-generation collection
 * when buffer memory passes a bound.
 */
export function enableBufferRelief(): void {
  v8.setFlagsFromString('--expose-gc');
  // A new context sees the flag; the main one was created before it was set.
  collect = vm.runInNewContext('gc') as GcFunction;
}

/** Buffer memory still held after the last full collection: the data the agent really holds. */
let liveAfterMajor = 0;

/**
 * Collects garbage if buffers hold more than `limitBytes`: young garbage first, then all of it if
 * that was not enough. amqplib's frame copies of each body wait in the socket's queue long enough
 * to be promoted, and V8 counts dead buffers towards a full collection only after 64 MiB more; a
 * full collection of the agent's small heap takes a few ms. It runs again only once `slackBytes`
 * more than it left are held (a UDP burst legitimately filling --memory does not make it repeat).
 * True if it collected.
 */
export function relieveBuffers(limitBytes: number, slackBytes: number): boolean {
  if (collect === undefined) return false;
  if (process.memoryUsage().arrayBuffers <= limitBytes) return false;
  collect({ type: 'minor' });
  if (process.memoryUsage().arrayBuffers > Math.max(limitBytes, liveAfterMajor + slackBytes)) {
    collect({ type: 'major' });
    liveAfterMajor = process.memoryUsage().arrayBuffers;
  }
  return true;
}
