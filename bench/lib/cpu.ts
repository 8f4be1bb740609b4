import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds (user + system) a live process has used so far, or null once it has gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * The broker's Erlang VM on this machine (for its CPU time), or null if it runs elsewhere; never a
 * node of the local test cluster (scripts/rabbitmq-cluster.sh).
 */
export function brokerPid(): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'beam.smp' &&
        !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('warren-c')
      )
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** CPU used by each named process (and this one) between start() and stop(), in seconds. */
export function cpuMeter(pids: Record<string, number | null>): () => Record<string, number> {
  const before: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) before[name] = pid === null ? 0 : (cpuSeconds(pid) ?? 0);
  const self = process.cpuUsage();
  return () => {
    const used: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const now = pid === null ? null : cpuSeconds(pid);
      if (now !== null) used[name] = now - (before[name] ?? 0);
    }
    const mine = process.cpuUsage(self);
    used.harness = (mine.user + mine.system) / 1e6;
    return used;
  };
}
