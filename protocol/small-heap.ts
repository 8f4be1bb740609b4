/**
 * V8 heap settings for Warren's long-running processes (logship, logcollect), applied by their
 * entry points (agents/cli.ts, collector/cli.ts) before the rest of the CLI loads: a static import
 * of the CLI would parse and load every module first, and that allocation already grows the young
 * generation. Never applied by the library (a pino transport's host keeps its own settings).
 */
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

let applied = false;

function setFlags(): void {
  // Both allocate fast and briefly (lines, records); V8's default heap growth let RSS float far
  // above what they hold (the agent 160-230 MiB on a 1M-line syslog burst, the collector past 200).
  v8.setFlagsFromString('--heap-growing-percent=20');
  // The young generation stays at its first size (1 MiB semi-spaces) instead of doubling up to
  // 16 MiB each under a burst: a record dies right after it is encoded (agent) or stored (the
  // collector decodes a message's records as its transaction reads them), so scavenges stay
  // cheap, and the 32 MiB of new space was a fifth of either process's peak RSS (issue 15).
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

export function applySmallHeap(): void {
  applied = true;
  setFlags();
}

/**
 * Starts a Worker that keeps a young generation of its own (`semiSpaceMb` per semi-space) while
 * this thread keeps the small one. Starting a Worker sets V8's flags back to node's (the
 * collector's young generation grew to 32 MiB again once its API thread started), and a new
 * isolate takes its first semi-space size from the flags when it is made: so that size is set
 * just before, and the small-heap flags again once the Worker runs. Without applySmallHeap, a
 * plain start.
 */
export function startWorker(create: () => Worker, semiSpaceMb: number): Worker {
  if (!applied) return create();
  v8.setFlagsFromString(`--min-semi-space-size=${semiSpaceMb}`);
  const worker = create();
  worker.once('online', () => {
    v8.setFlagsFromString('--min-semi-space-size=0');
    setFlags();
  });
  return worker;
}
