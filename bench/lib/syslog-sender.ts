/**
 * The sender of issue 15's syslog burst, one TCP connection writing RFC 3164 lines as fast as the
 * receiver takes them: for Warren's agent and for the peer it is compared with.
 */
import net from 'node:net';
import { filler, rng } from './records.js';
import { waitUntil } from '../../testkit/wait.js';

/** 17 facilities × 5 severities = the 85 routing keys of issue 15's workload. */
const FACILITY_CODES = [0, 1, 2, 3, 4, 5, 6, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23];
const SEVERITY_CODES = [2, 3, 4, 5, 6];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 lines of about 200 bytes, newline-framed, cycling through the 85 keys. */
export function rfc3164Lines(count: number): string[] {
  const random = rng(3164);
  const chunks: string[] = [];
  const CHUNK = 2_000;
  const now = new Date();
  const stamp = `${MONTHS[now.getMonth()] ?? 'Jan'} ${String(now.getDate()).padStart(2, ' ')} ${now.toTimeString().slice(0, 8)}`;
  for (let n = 0; n < count; n += CHUNK) {
    let chunk = '';
    for (let i = n; i < Math.min(count, n + CHUNK); i++) {
      const facility = FACILITY_CODES[i % FACILITY_CODES.length] ?? 1;
      const severity = SEVERITY_CODES[Math.floor(i / FACILITY_CODES.length) % SEVERITY_CODES.length] ?? 6;
      chunk += `<${facility * 8 + severity}>${stamp} web-${i % 7} app[${1000 + (i % 50)}]: ${filler(`syslog ${i}`, 150, random)}\n`;
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** One TCP connection to a syslog receiver on 127.0.0.1 (`logship --syslog tcp://…`, the peer), once it listens. */
export async function connectSyslog(port: number): Promise<net.Socket> {
  let socket: net.Socket | undefined;
  await waitUntil(
    `127.0.0.1:${port} to accept syslog`,
    () =>
      new Promise<boolean>((resolve) => {
        const attempt = net.connect(port, '127.0.0.1', () => {
          socket = attempt;
          resolve(true);
        });
        attempt.once('error', () => resolve(false));
      }),
    30_000,
    100,
  );
  if (socket === undefined) throw new Error('no syslog connection');
  return socket;
}

/** Writes the chunks as fast as the receiver takes them (TCP back-pressure, as a syslog sender). */
export async function sendChunks(socket: net.Socket, chunks: readonly string[]): Promise<void> {
  for (const chunk of chunks) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
}
