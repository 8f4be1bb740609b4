/**
 * Running Warren's real commands (bin/NAME.js, compiled in dist/) as child processes, for tests,
 * bench and chaos: `runBin` captures what a command prints (tests), `startBin` samples its peak RSS
 * and keeps a bounded stderr tail (long runs in bench and chaos).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ChannelModel } from 'amqplib';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';
import { waitUntil } from './wait.js';

export type BinName = 'logship' | 'logcollect' | 'logtail';

/** The package root, found from this file whether it runs from testkit/ (vitest) or dist/testkit/ (npm run). */
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

export function binPath(name: BinName): string {
  return path.join(repoRoot(), 'bin', `${name}.js`);
}

/** True once the component's compiled CLI exists (`npm run build` ran). */
export function binAvailable(name: BinName): boolean {
  const part = name === 'logship' ? 'agents' : name === 'logcollect' ? 'collector' : 'dashboard';
  return existsSync(binPath(name)) && existsSync(path.join(repoRoot(), 'dist', part, 'cli.js'));
}

/** Peak resident set (VmHWM) of a live process in MiB, or null once it has gone. */
export function peakRssMb(pid: number): number | null {
  return statusMb(pid, 'VmHWM');
}

/** Resident set now (VmRSS) of a live process in MiB, or null once it has gone. */
export function rssMb(pid: number): number | null {
  return statusMb(pid, 'VmRSS');
}

function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
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
export function startBin(name: BinName, args: string[], options: StartOptions = {}): Child {
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

/** A command started by runBin: everything it printed so far, and its exit. */
export interface RunningBin {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export interface RunOptions {
  /** Written to stdin, which is then closed unless `keepStdinOpen`. */
  input?: string;
  /** Leave stdin open for the test to write to and end itself. */
  keepStdinOpen?: boolean;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Added to this process's environment and NO_COLOR=1. */
  env?: NodeJS.ProcessEnv;
}

/** Runs one of Warren's real commands, capturing its output. A string for `options` is the stdin input. */
export function runBin(name: BinName, args: string[], options: string | RunOptions = {}): RunningBin {
  return runNode([binPath(name), ...args], typeof options === 'string' ? { input: options } : options);
}

/** Runs `node` with these arguments (a script and its arguments, or flags such as -e) as a child process. */
export function runNode(nodeArgs: string[], options: RunOptions = {}): RunningBin {
  const { input, keepStdinOpen = false, cwd, env } = options;
  const child = spawn(process.execPath, nodeArgs, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
    cwd,
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  if (input !== undefined) child.stdin?.write(input);
  if (!keepStdinOpen) child.stdin?.end();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Stops a child gracefully, then for sure. */
export async function stopBin(bin: RunningBin, timeoutMs = 10_000): Promise<number | null> {
  if (bin.child.exitCode !== null) return bin.child.exitCode;
  bin.child.kill('SIGTERM');
  const timer = setTimeout(() => bin.child.kill('SIGKILL'), timeoutMs);
  const code = await bin.exited;
  clearTimeout(timer);
  return code;
}

/** A real logcollect on a free port with its store in `dir` (and `args`, e.g. `--bind`), once its /readyz says ready. */
export async function startCollector(
  exchange: string,
  dir: string,
  args: readonly string[] = [],
): Promise<{ collector: RunningBin; api: string }> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const collector = runBin('logcollect', [
    '--exchange',
    exchange,
    '--db',
    path.join(dir, 'warren.db'),
    '--listen',
    `127.0.0.1:${port}`,
    ...args,
  ]);
  await waitUntil(
    'the collector is ready',
    async () => (await fetch(`${api}/readyz`).catch(() => undefined))?.status === 200,
    20_000,
    200,
  );
  return { collector, api };
}

/**
 * A real `logtail --json` on `exchange`, returned once it is live: a probe (plain text `probe`
 * with `probeKey`, which its patterns must match) published now has reached its stdout.
 */
export async function startLiveTail(
  connection: ChannelModel,
  exchange: string,
  args: readonly string[],
  options: { probeKey: string; run?: RunOptions },
): Promise<RunningBin> {
  const tail = runBin('logtail', ['--json', '--exchange', exchange, ...args], options.run);
  const channel = await connection.createConfirmChannel();
  try {
    await waitUntil('logtail prints a record published now', async () => {
      channel.publish(exchange, options.probeKey, Buffer.from('probe'));
      await channel.waitForConfirms();
      return tail.stdout().includes('"probe"');
    });
  } finally {
    await channel.close();
  }
  return tail;
}
