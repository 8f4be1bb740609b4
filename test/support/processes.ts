import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// The repository root holds bin/: two levels up from test/support, three from a compiled
// dist/test/support (the measure scripts run from there).
const root =
  [path.resolve(here, '..', '..'), path.resolve(here, '..', '..', '..')].find((dir) =>
    existsSync(path.join(dir, 'bin', 'logcollect.js')),
  ) ?? path.resolve(here, '..', '..');

/** A port nothing listens on right now, for a child process's --listen. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

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

/**
 * Runs one of Warren's real commands (bin/NAME.js, compiled in dist/) as a child process. A string
 * for `options` is the stdin input.
 */
export function runBin(
  name: 'logship' | 'logcollect' | 'logtail',
  args: string[],
  options: string | RunOptions = {},
): RunningBin {
  const script = path.join(root, 'bin', `${name}.js`);
  return runNode([script, ...args], typeof options === 'string' ? { input: options } : options);
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

/** Polls until `check` returns true (for hooks, where expect.poll is not allowed); throws after the timeout. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
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
  );
  return { collector, api };
}
