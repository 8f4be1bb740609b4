import dgram from 'node:dgram';
import net from 'node:net';
import { ErrorCodes, WarrenError, errorMessage } from '../../protocol/index.js';
import { sharedFields } from '../encoder.js';
import { SyslogFramer } from '../parse/frames.js';
import { decodeUtf8 } from '../parse/line.js';
import { parseSyslog } from '../parse/syslog.js';
import type { ParsedRecord } from '../record.js';
import type { Input, InputContext } from './input.js';

export interface SyslogAddress {
  protocol: 'udp' | 'tcp';
  host: string;
  port: number;
}

/** `udp://HOST:PORT` or `tcp://HOST:PORT` → an address; anything else is a usage error. */
export function parseSyslogUrl(text: string): SyslogAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    url = new URL('invalid://');
  }
  const protocol = url.protocol.replace(/:$/, '');
  const port = Number(url.port);
  if (
    (protocol !== 'udp' && protocol !== 'tcp') ||
    url.hostname === '' ||
    !Number.isInteger(port) ||
    port <= 0
  ) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid --syslog address '${text}'`, {
      hint: 'use udp://HOST:PORT or tcp://HOST:PORT, e.g. udp://127.0.0.1:5514',
    });
  }
  return { protocol, host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/**
 * A syslog listener. UDP is lossy by nature: while the spool is full its datagrams are dropped
 * and counted. TCP connections are paused instead, so senders slow down.
 */
export function createSyslogInput(context: InputContext, address: SyslogAddress, maxBytes: number): Input {
  const name = `syslog ${address.protocol}://${address.host}:${address.port}`;
  const handle = (text: string, sender: SenderFields | undefined): void => {
    try {
      context.sink.log(relayedRecord(text, sender));
    } catch (err) {
      context.logger.warn({ err: errorMessage(err) }, 'cannot ship a syslog frame');
    }
  };
  let udp: dgram.Socket | undefined;
  let tcp: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const framers = new Map<net.Socket, SyslogFramer>();

  async function listenUdp(): Promise<void> {
    const socket = dgram.createSocket(address.host.includes(':') ? 'udp6' : 'udp4');
    udp = socket;
    socket.on('message', (msg: Buffer, from: dgram.RemoteInfo) => {
      // A datagram cannot wait: it is queued or spooled unless the spool itself is full.
      if (context.sink.spoolFull) {
        context.sink.dropped(1);
        return;
      }
      // Several newline-separated frames may share a datagram (pino-socket sends them so).
      const text = decodeUtf8(msg, 0, Math.min(msg.length, maxBytes)).text;
      const sender = senderFields(from.address);
      for (const frame of text.split(/\r?\n/)) if (frame.trim() !== '') handle(frame, sender);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(address.port, address.host, () => {
        socket.off('error', reject);
        socket.on('error', (err: Error) => context.logger.warn({ err: err.message }, `${name} error`));
        resolve();
      });
    });
  }

  async function listenTcp(): Promise<void> {
    const server = net.createServer((socket) => {
      sockets.add(socket);
      const sender = socket.remoteAddress === undefined ? undefined : senderFields(socket.remoteAddress);
      const framer = new SyslogFramer((text) => handle(text, sender), maxBytes);
      framers.set(socket, framer);
      socket.on('data', (chunk: Buffer) => {
        framer.push(chunk);
        if (!context.sink.accepting) socket.pause();
      });
      socket.on('end', () => framer.end());
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        framers.delete(socket);
      });
    });
    tcp = server;
    server.on('error', (err: Error) => context.logger.warn({ err: err.message }, `${name} error`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  return {
    name,
    ended: new Promise<void>(() => undefined),
    async start(): Promise<void> {
      context.sink.onResume(() => {
        for (const socket of sockets) socket.resume();
      });
      try {
        if (address.protocol === 'udp') await listenUdp();
        else await listenTcp();
      } catch (err) {
        throw new WarrenError(ErrorCodes.BAD_USAGE, `cannot listen on ${name}: ${errorMessage(err)}`, {
          hint: 'pick a free port (ports below 1024 need root), or stop what is using it',
          cause: err,
        });
      }
      context.logger.info(`listening for ${name}`);
    },
    async stop(): Promise<void> {
      if (udp !== undefined) await new Promise<void>((resolve) => udp!.close(() => resolve()));
      if (tcp !== undefined) {
        const closed = new Promise<void>((resolve) => tcp!.close(() => resolve()));
        for (const [socket, framer] of framers) {
          framer.end();
          socket.destroy();
        }
        await closed;
      }
    },
  };
}

/** `fields.sender` of a relayed record, shared by the records of one connection or datagram. */
export type SenderFields = Readonly<{ sender: string }>;

/**
 * One frame as a relay ships it: the record keeps its sender's origin, never logship's, and says
 * where it came from. The parser's fields are the record's own: added to, not copied (once per
 * record adds up); without any, the sender's one frozen object is shared, and encoded once.
 */
export function relayedRecord(text: string, sender: SenderFields | undefined): ParsedRecord {
  const record = parseSyslog(text);
  record.relayed = true;
  if (sender !== undefined) {
    if (record.fields === undefined) record.fields = sender;
    else record.fields.sender = sender.sender;
  }
  return record;
}

export function senderFields(address: string): SenderFields {
  return sharedFields({ sender: senderAddress(address) });
}

/** A sender's address as people write it: an IPv4 peer of a dual-stack socket without `::ffff:`. */
function senderAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
