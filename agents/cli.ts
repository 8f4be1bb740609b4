/**
 * logship's entry point. The heap settings are applied before the CLI's modules load: a static
 * import of them would parse and load every module (allocating enough to grow the young
 * generation) before the first line here ran.
 */
import './cli-heap.js';

await import('./cli-main.js');
