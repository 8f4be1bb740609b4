import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../protocol/index.js';

/** The package root, found from this file whether it runs from bench/ (vitest) or dist/bench/ (npm run). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (parsed.name === 'warren') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the warren package root');
    dir = parent;
  }
}

export function binPath(name: 'logship' | 'logcollect' | 'logtail'): string {
  return path.join(repoRoot(), 'bin', `${name}.js`);
}

/** True once the component's compiled CLI exists (its helper has landed it and `npm run build` ran). */
export function binAvailable(name: 'logship' | 'logcollect' | 'logtail'): boolean {
  const part = name === 'logship' ? 'agents' : name === 'logcollect' ? 'collector' : 'dashboard';
  return existsSync(binPath(name)) && existsSync(path.join(repoRoot(), 'dist', part, 'cli.js'));
}

/** Peak resident set (VmHWM) of a live process in MiB, or null once it has gone. */
export function peakRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match?.[1] === undefined ? null : Number(match[1]) / 1024;
  } catch {
    return null;
  }
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last lines it wrote on stderr, for diagnosis when something goes wrong. */
  stderrTail(): string;
  /** All stderr so far (bounded), to look for what it said. */
  stderrText(): string;
  /** Highest VmHWM seen by the sampler, in MiB. */
  peakRssMb(): number;
  /** Resolves with the exit code (or signal name) once it has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Pipe stdin (default) or ignore it. */
  stdin?: 'pipe' | 'ignore';
  stdout?: 'pipe' | 'ignore';
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  cwd?: string;
}

const STDERR_KEEP = 64 * 1024;

/** Runs `node bin/<name>.js args...` as a child, sampling its peak RSS while it lives. */
export function startBin(
  name: 'logship' | 'logcollect' | 'logtail',
  args: string[],
  options: StartOptions = {},
): Child {
  // WARREN_BENCH_PROFILE=DIR: every component writes a V8 CPU profile there on exit (see bench/profile.ts).
  const profileDir = process.env.WARREN_BENCH_PROFILE;
  const profile =
    profileDir !== undefined && profileDir !== '' ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...profile, ...(options.nodeArgs ?? []), binPath(name), ...args], {
    cwd: options.cwd ?? repoRoot(),
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? 'pipe', options.stdout ?? 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`cannot start ${name}`);
  const pid = child.pid;
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
  });
  // A child that dies while we write to it must not crash the harness with EPIPE.
  child.stdin?.on('error', () => undefined);
  let peak = 0;
  let done = false;
  const sample = (): void => {
    const rss = peakRssMb(pid);
    if (rss !== null && rss > peak) peak = rss;
  };
  const sampler = setInterval(sample, 100);
  sampler.unref();
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      clearInterval(sampler);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const handle: Child = {
    name,
    process: child,
    pid,
    stderrTail: () => stderr.split('\n').slice(-15).join('\n'),
    stderrText: () => stderr,
    peakRssMb: () => {
      sample();
      return peak;
    },
    exited,
    hasExited: () => done,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (!done) child.kill(signal);
    },
    stop: async (graceMs = 15_000) => {
      if (done) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return handle;
}

/** Writes to a child's stdin, waiting for 'drain' when its pipe is full (bounded memory in the harness). */
export async function writeAll(stream: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  if (!stream.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        resolve();
      };
      stream.once('drain', done);
      stream.once('close', done);
      stream.once('error', done);
    });
  }
}

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `everyMs` until it returns true, or throws `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

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

/** The broker's Erlang VM on this machine (for its CPU time), or null if it runs elsewhere. */
export function brokerPid(): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'beam.smp') return Number(entry);
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
