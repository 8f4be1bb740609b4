import { ErrorCodes, WarrenError } from '../../../protocol/index.js';

/**
 * Where the receiver listens: `HOST:PORT`, `:PORT` or `PORT` (loopback unless a host is given).
 * Apart from the receiver so that parsing logship's flags does not load fastify.
 */
export interface HttpAddress {
  host: string;
  port: number;
}

export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:]*):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid --http address '${text}'`, {
      hint: 'use HOST:PORT or PORT, e.g. --http 127.0.0.1:4318 (OTLP/HTTP), --http 0.0.0.0:3100',
    });
  }
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '127.0.0.1' : host, port };
}
