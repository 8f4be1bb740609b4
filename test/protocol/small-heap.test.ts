import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot, runNode } from '../../testkit/processes.js';

/**
 * In a child process (the flags are the whole process's): the thread that applied the small heap
 * and a Worker started with startWorker each churn through short-lived objects, then report their
 * new space in MiB (two semi-spaces).
 */
const SCRIPT = (apply: boolean): string => `
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { applySmallHeap, startWorker } from ${JSON.stringify(pathToFileURL(path.join(repoRoot(), 'dist/protocol/small-heap.js')).href)};
const churn = 'const keep = []; for (let i = 0; i < 3e6; i++) { const o = { a: "x" + i, b: [i] }; if (i % 3 === 0) keep.push(o); if (keep.length > 20000) keep.length = 0; }';
const newSpace = 'v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size / 1048576';
if (${String(apply)}) applySmallHeap();
const worker = startWorker(() => new Worker(
  'import v8 from "node:v8"; import { parentPort } from "node:worker_threads"; ' + churn + '; parentPort.postMessage(' + newSpace + ')',
  { eval: true },
), 4);
worker.once('message', (workerMb) => {
  eval(churn);
  console.log(JSON.stringify({ main: eval(newSpace), worker: workerMb }));
});
`;

async function measure(apply: boolean): Promise<{ main: number; worker: number }> {
  const run = runNode(['--input-type=module', '-e', SCRIPT(apply)]);
  expect(await run.exited, run.stderr()).toBe(0);
  return JSON.parse(run.stdout()) as { main: number; worker: number };
}

describe('small heap (protocol/small-heap.ts)', () => {
  it('keeps 1 MiB semi-spaces after a Worker starts, and gives that Worker the semi-spaces it asked for', async () => {
    const { main, worker } = await measure(true);
    expect(main).toBe(2);
    expect(worker).toBe(8);
  });

  it('changes nothing in a process that did not apply it (a library user)', async () => {
    const { main, worker } = await measure(false);
    expect(main).toBeGreaterThan(2);
    expect(worker).toBeGreaterThan(8);
  });
});
