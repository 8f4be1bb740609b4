/**
 * Drives the real third-party log clients (syslog-ng amqp(), pika, util-linux logger,
 * amqp-tools' amqp-publish) from tests. Each run lives in a directory the caller owns and is
 * stopped by the caller; nothing here writes under /var, binds /dev/log or touches system state.
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's python3-pika is installed for this interpreter, not necessarily for `python3` on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const here = path.dirname(fileURLToPath(import.meta.url));
// examples/ sits at the repository root: one level up from testkit/, two from dist/testkit/.
const examplesDir =
  [path.resolve(here, '..', 'examples'), path.resolve(here, '..', '..', 'examples')].find((dir) =>
    existsSync(path.join(dir, 'pika', 'publish.py')),
  ) ?? path.resolve(here, '..', 'examples');

/** The clients, each with the Debian packages that provide it (`.ci/run` installs them). */
export const FOREIGN_CLIENTS = {
  syslogNg: 'syslog-ng-core syslog-ng-mod-amqp',
  pika: 'python3-pika',
  logger: 'bsdutils',
  amqpPublish: 'amqp-tools',
} as const;
export type ForeignClient = keyof typeof FOREIGN_CLIENTS;

function findExecutable(name: string): string | undefined {
  // syslog-ng lives in /usr/sbin, which is not on every PATH.
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function succeeds(command: string, args: string[]): { ok: boolean; stdout: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: result.status === 0, stdout: result.stdout ?? '' };
}

/** syslog-ng's sql() destination with libdbi's SQLite driver: issue 15's fastest peer in `npm run bench`. */
export const SYSLOG_NG_SQLITE_PACKAGES = 'syslog-ng-core syslog-ng-mod-sql libdbd-sqlite3';

/** Whether syslog-ng is installed with this module (`afamqp`, `afsql`): the package of a module may be missing. */
function syslogNgHasModule(module: string): boolean {
  const syslogNg = findExecutable('syslog-ng');
  return (
    syslogNg !== undefined && succeeds(syslogNg, ['--module-registry']).stdout.includes(`Module: ${module}`)
  );
}

/** Whether syslog-ng can write SQLite here: its sql module and libdbi's sqlite3 driver (under /usr/lib/<arch>/dbd). */
export function syslogNgSqliteAvailable(): boolean {
  if (!syslogNgHasModule('afsql')) return false;
  const libDirs = ['/usr/lib', ...readdirSync('/usr/lib').map((name) => path.join('/usr/lib', name))];
  return libDirs.some((dir) => existsSync(path.join(dir, 'dbd', 'libdbdsqlite3.so')));
}

/** Which clients can run here: a binary alone is not enough for syslog-ng (amqp module) or pika. */
export function foreignClientsAvailable(): Record<ForeignClient, boolean> {
  return {
    syslogNg: syslogNgHasModule('afamqp'),
    pika: existsSync(SYSTEM_PYTHON) && succeeds(SYSTEM_PYTHON, ['-c', 'import pika']).ok,
    logger: findExecutable('logger') !== undefined,
    amqpPublish: findExecutable('amqp-publish') !== undefined,
  };
}

/** Throws one clear message naming the Debian packages to install, instead of a test hanging. */
export function requireForeignClients(
  clients: readonly ForeignClient[] = Object.keys(FOREIGN_CLIENTS) as ForeignClient[],
): void {
  const available = foreignClientsAvailable();
  const missing = clients.filter((client) => !available[client]);
  if (missing.length === 0) return;
  const packages = missing.map((client) => FOREIGN_CLIENTS[client]).join(' ');
  throw new Error(`missing foreign log clients (${missing.join(', ')}): install ${packages} (.ci/run does)`);
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`, so a test never hangs on it). */
export async function runProcess(
  command: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // EPIPE when the child exits without reading its stdin (logger with a message): its exit code tells the story.
  child.stdin.on('error', () => undefined).end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve(status));
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr };
}

export interface PikaPublish {
  /** AMQP URL; pika reads the vhost from the path (`/%2F` or none for `/`). */
  amqp: string;
  exchange: string;
  routingKey: string;
  body: string;
  contentType?: string;
  headers?: Readonly<Record<string, string>>;
  messageId?: string;
}

/** Publishes one message with examples/pika/publish.py (passive declare, confirms, persistent). */
export async function runPika(message: PikaPublish): Promise<ProcessResult> {
  const args = [
    path.join(examplesDir, 'pika', 'publish.py'),
    '--url',
    message.amqp,
    '--exchange',
    message.exchange,
  ];
  if (message.contentType !== undefined) args.push('--content-type', message.contentType);
  if (message.messageId !== undefined) args.push('--message-id', message.messageId);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    args.push('--header', `${name}=${value}`);
  return runProcess(SYSTEM_PYTHON, [...args, message.routingKey, message.body]);
}

/** Runs a Python snippet (`-c`) with pika importable, for what publish.py does not cover. */
export async function runPython(script: string, args: readonly string[] = []): Promise<ProcessResult> {
  return runProcess(SYSTEM_PYTHON, ['-c', script, ...args]);
}

export interface LoggerSend {
  host: string;
  port: number;
  protocol: 'udp' | 'tcp';
  /** logger's own default with --server is RFC 5424. */
  format?: 'rfc3164' | 'rfc5424';
  /** RFC 6587 octet counting on TCP (`LEN <PRI>...`) instead of LF-terminated frames. */
  octetCount?: boolean;
  /** `facility.level`, e.g. `auth.warning` (logger turns `kern` into `user`). */
  priority: string;
  tag?: string;
  pid?: number;
  msgid?: string;
  message: string;
}

/** Sends one message with util-linux logger. */
export async function runLogger(send: LoggerSend): Promise<ProcessResult> {
  const args = [
    '--server',
    send.host,
    '--port',
    String(send.port),
    `--${send.protocol}`,
    '-p',
    send.priority,
  ];
  if (send.format !== undefined) args.push(`--${send.format}`);
  if (send.octetCount === true) args.push('--octet-count');
  if (send.tag !== undefined) args.push('-t', send.tag);
  if (send.pid !== undefined) args.push(`--id=${send.pid}`);
  if (send.msgid !== undefined) args.push('--msgid', send.msgid);
  return runProcess('logger', [...args, '--', send.message]);
}

export interface AmqpPublish {
  amqp: string;
  exchange: string;
  routingKey: string;
  body: string;
  /** `-p`, delivery_mode 2 (default true). */
  persistent?: boolean;
  contentType?: string;
  headers?: Readonly<Record<string, string>>;
}

/** Publishes one message with amqp-tools' amqp-publish (no confirms; exit 1 if the exchange is missing). */
export async function runAmqpPublish(message: AmqpPublish): Promise<ProcessResult> {
  const args = ['-u', message.amqp, '-e', message.exchange, '-r', message.routingKey, '-b', message.body];
  if (message.persistent !== false) args.push('-p');
  if (message.contentType !== undefined) args.push('-C', message.contentType);
  for (const [name, value] of Object.entries(message.headers ?? {})) args.push('-H', `${name}: ${value}`);
  return runProcess('amqp-publish', args);
}

export interface SyslogNgOptions {
  /** Scratch directory for the config, pid, persist file and control socket (absolute paths). */
  dir: string;
  amqp: string;
  exchange: string;
  /** A syslog-ng template (default `$FACILITY.$LEVEL`, as examples/syslog-ng/warren.conf). */
  routingKey?: string;
  /** Body `$(format-json --scope rfc5424 ...)` instead of `$MSG`. */
  jsonBody?: boolean;
  /** Loopback port of its syslog() source, UDP and TCP (TCP frames are octet-counted). */
  sourcePort: number;
}

export interface RunningSyslogNg {
  readonly port: number;
  readonly pid: number;
  readonly configFile: string;
  /** Sends syslog frames (`<PRI>1 ...` or `<PRI>Mmm dd ...`), one message each. */
  send(frames: readonly string[], transport?: 'udp' | 'tcp'): Promise<void>;
  /** What syslog-ng printed so far (its internal log goes to stderr with -e). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A syslog-ng string literal. */
function quoted(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function syslogNgConfig(options: SyslogNgOptions): string {
  const url = new URL(options.amqp);
  const vhost = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/';
  const body =
    options.jsonBody === true ? '$(format-json --scope rfc5424 --exclude DATE --key ISODATE)' : '$MSG';
  return `@version: 3.38
options { keep-hostname(yes); frac-digits(3); stats-freq(0); };
source s_lab {
  syslog(ip("127.0.0.1") port(${options.sourcePort}) transport("udp"));
  syslog(ip("127.0.0.1") port(${options.sourcePort}) transport("tcp"));
};
destination d_warren {
  amqp(
    host(${quoted(url.hostname)}) port(${url.port === '' ? 5672 : Number(url.port)}) vhost(${quoted(vhost)})
    username(${quoted(decodeURIComponent(url.username || 'guest'))})
    password(${quoted(decodeURIComponent(url.password || 'guest'))})
    exchange(${quoted(options.exchange)})
    routing-key(${quoted(options.routingKey ?? '$FACILITY.$LEVEL')})
    persistent(yes)
    body(${quoted(body)})
  );
};
log { source(s_lab); destination(d_warren); };
`;
}

async function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function sendTcp(port: number, frames: readonly string[]): Promise<void> {
  // Octet counting (RFC 6587): what syslog()'s TCP transport expects.
  const data = frames.map((frame) => `${Buffer.byteLength(frame)} ${frame}`).join('');
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(data));
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}

async function sendUdp(port: number, frames: readonly string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (const frame of frames) {
      await new Promise<void>((resolve, reject) =>
        socket.send(frame, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    socket.close();
  }
}

/** Starts `syslog-ng -F` publishing to the broker, with its config and state files in `options.dir`. */
export async function runSyslogNg(options: SyslogNgOptions): Promise<RunningSyslogNg> {
  return startSyslogNg(options.dir, syslogNgConfig(options), options.sourcePort);
}

/**
 * Starts `syslog-ng -F` with this config and its state files in `dir` (an absolute path), once a
 * TCP source of the config listens on `sourcePort` of 127.0.0.1.
 */
export async function startSyslogNg(
  dir: string,
  config: string,
  sourcePort: number,
): Promise<RunningSyslogNg> {
  const configFile = path.join(dir, 'syslog-ng.conf');
  await writeFile(configFile, config);
  const child = spawn(
    findExecutable('syslog-ng') ?? 'syslog-ng',
    [
      '-F',
      '-e',
      '--no-caps',
      `--cfgfile=${configFile}`,
      `--pidfile=${path.join(dir, 'syslog-ng.pid')}`,
      `--persist-file=${path.join(dir, 'syslog-ng.persist')}`,
      `--control=${path.join(dir, 'syslog-ng.ctl')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    return exited.finally(() => clearTimeout(timer));
  };

  const deadline = Date.now() + 10_000;
  while (!(await tcpAccepts(sourcePort))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`syslog-ng did not start listening on 127.0.0.1:${sourcePort}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // No pid means it never started (something else answered on the port): no process to measure.
  const pid = child.pid;
  if (pid === undefined) {
    await stop();
    throw new Error(`syslog-ng did not start, though 127.0.0.1:${sourcePort} accepts:\n${output}`);
  }
  return {
    port: sourcePort,
    pid,
    configFile,
    send: (frames, transport = 'tcp') =>
      transport === 'tcp' ? sendTcp(sourcePort, frames) : sendUdp(sourcePort, frames),
    output: () => output,
    stop,
  };
}
