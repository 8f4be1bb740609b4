/**
 * Writes a believable stream of pino-style JSON log lines to stdout, for the demo agent: mostly
 * info and debug, some warnings, and a rare error or critical so `logtail '*.critical'` has
 * something to show within a minute.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    count: { type: 'string' },
    facility: { type: 'string', default: 'web' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: demo-logs [--rate PER_SECOND (20)] [--count N (forever)] [--facility web|kern|auth] [--out FILE]\n' +
      'Prints pino-style JSON log lines for the Warren demo, to stdout or appended to FILE\n' +
      '(rotated to FILE.1 at 5 MiB, as logrotate would, so a followed file never fills the disk).\n',
  );
  process.exit(0);
}

const rate = Number(values.rate);
const count = values.count === undefined ? Infinity : Number(values.count);
if (!(rate > 0) || !(count > 0)) {
  process.stderr.write('demo-logs: --rate and --count must be positive numbers\n');
  process.exit(2);
}

type Line = [level: number, msg: string, fields: Record<string, unknown>];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const paths = ['/api/orders', '/api/users', '/healthz', '/api/cart', '/login'];
const users = ['alice', 'bob', 'carol', 'dave'];
const disks = ['sda', 'sdb', 'nvme0n1'];

const THEMES: Record<string, () => Line> = {
  web: () => {
    const status = pick([200, 200, 200, 201, 304, 404, 500]);
    const ms = Math.round(Math.random() * 120);
    const level = status >= 500 ? 50 : status >= 400 ? 40 : 30;
    return [level, `GET ${pick(paths)} ${status} ${ms}ms`, { status, duration_ms: ms }];
  },
  kern: () =>
    pick<Line>([
      [20, 'eth0: link up, 1000 Mbps full duplex', { iface: 'eth0' }],
      [30, 'EXT4-fs (sda1): mounted filesystem', { disk: 'sda1' }],
      [40, 'CPU0: Core temperature above threshold', { cpu: 0 }],
      [60, `disk failure on ${pick(disks)}`, { disk: pick(disks) }],
    ]),
  auth: () => {
    const user = pick(users);
    return pick<Line>([
      [30, `Accepted publickey for ${user}`, { user }],
      [30, `session opened for user ${user}`, { user }],
      [40, `Failed password for ${user}`, { user }],
      [50, `too many authentication failures for ${user}`, { user }],
    ]);
  },
};

const ROTATE_BYTES = 5 * 1024 * 1024;
const out = values.out;

function emit(text: string): void {
  if (out === undefined) {
    process.stdout.write(text);
    return;
  }
  if ((statSync(out, { throwIfNoEntry: false })?.size ?? 0) >= ROTATE_BYTES) renameSync(out, `${out}.1`);
  appendFileSync(out, text);
}

const theme = THEMES[values.facility] ?? THEMES.web;
const host = hostname();
let written = 0;

function writeSome(): void {
  const batch = Math.max(1, Math.round(rate / 10));
  for (let i = 0; i < batch && written < count; i++, written++) {
    const [level, msg, fields] = theme?.() ?? [30, 'tick', {}];
    // Rare escalation, so every severity range has something to match.
    const escalated = Math.random() < 0.01 ? 60 : level;
    const line = { level: escalated, time: Date.now(), pid: process.pid, hostname: host, msg, ...fields };
    emit(`${JSON.stringify(line)}\n`);
  }
  if (written >= count) process.exit(0);
}

setInterval(writeSome, 100);
// As a container's PID 1 (docker-compose.yml) a signal without a handler is ignored, and `docker
// compose stop` would wait out the grace period and SIGKILL; every line is already written.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
process.stdout.on('error', () => process.exit(0)); // the agent went away: nothing left to feed
