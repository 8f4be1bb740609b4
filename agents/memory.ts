import v8 from 'node:v8';
import vm from 'node:vm';

type GcFunction = () => void;

let collect: GcFunction | undefined;
/** When the last relief collection ended, and how long it took (ms, performance.now()). */
let lastEnd = -Infinity;
let lastTook = 0;

/** A relief collection waits this many times its predecessor's duration: at most ~1/11 of the time. */
const RELIEF_SPACING = 10;

/**
 * Node frees a Buffer's memory only when V8 collects its wrapper, and V8 lets tens of MiB of
 * such garbage pile up first: buffers that outlive two young collections (amqplib's frame copies
 * did, until the publisher framed a message only when the socket could take it; bodies the pool
 * does not keep still do) wait for a full one. The logship process (never a library user's, such
 * as the pino transport's host) asks for a full collection when buffer memory passes a bound.
 */
export function enableBufferRelief(): void {
  v8.setFlagsFromString('--expose-gc');
  // A new context sees the flag; the main one was created before it was set.
  collect = vm.runInNewContext('gc') as GcFunction;
}

/**
 * Collects all garbage if buffers hold more than `limitBytes`, unless the last such collection
 * was too recent for its cost (so a live set above the bound, e.g. batches held while the broker
 * is away, costs a bounded share of the CPU); true if it did.
 */
export function relieveBuffers(limitBytes: number): boolean {
  if (collect === undefined) return false;
  const now = performance.now();
  if (now - lastEnd < lastTook * RELIEF_SPACING) return false;
  if (process.memoryUsage().arrayBuffers <= limitBytes) return false;
  // Without options: node 20's gc({ type: 'major' }) runs a young collection, which leaves them.
  collect();
  lastEnd = performance.now();
  lastTook = lastEnd - now;
  return true;
}
