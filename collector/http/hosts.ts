/**
 * Which Host headers the API answers (a DNS-rebinding guard): a web page on another site can make
 * a browser send requests to 127.0.0.1 under its own name, so an API bound to loopback answers only
 * loopback names, plus the ones the operator allows (`--allow-host`).
 */

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The names the API answers to; null answers every name (a non-loopback bind with no --allow-host). */
export function allowedHosts(listenHost: string, extra: readonly string[]): readonly string[] | null {
  if (!isLoopback(listenHost) && extra.length === 0) return null;
  const names = isLoopback(listenHost) ? [...LOOPBACK_NAMES, listenHost, ...extra] : [listenHost, ...extra];
  return [...new Set(names.map((name) => name.toLowerCase()))];
}

/** The host name of a Host header, without its port or IPv6 brackets, lower case. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  const colon = value.lastIndexOf(':');
  return colon > 0 && value.indexOf(':') === colon ? value.slice(0, colon) : value;
}

export function hostAllowed(header: string | undefined, allowed: readonly string[] | null): boolean {
  if (allowed === null) return true;
  if (header === undefined || header === '') return false;
  const name = hostName(header);
  return allowed.includes(name) || (allowed.includes('127.0.0.1') && isLoopback(name));
}
