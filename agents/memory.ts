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

/** Collects young garbage if buffers hold more than `limitBytes`; true if it did. */
export function relieveBuffers(limitBytes: number): boolean {
  if (collect === undefined) return false;
  if (process.memoryUsage().arrayBuffers <= limitBytes) return false;
  collect({ type: 'minor' });
  return true;
}
