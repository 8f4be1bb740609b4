/**
 * logcollect's entry point: the heap settings first (protocol/small-heap.ts says why), then the CLI
 * with a dynamic import.
 */
import { applySmallHeap } from '../protocol/small-heap.js';

applySmallHeap();

await import('./cli-main.js');
