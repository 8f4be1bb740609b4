import { timingSafeEqual } from 'node:crypto';
import { ErrorCodes, WarrenError } from '../../../protocol/index.js';

/**
 * Who may send to `logship --http`: the schemes `--http-auth` names, the secrets from the
 * environment only (WARREN_HTTP_TOKEN, WARREN_HTTP_BASIC), and the check of a request's
 * Authorization header against them (CONTRACT §5).
 */

/** Who may send: a bearer token, a basic user and password, or both; none configured: anyone who can connect. */
export interface HttpAuth {
  readonly token?: string | undefined;
  readonly basic?: { readonly user: string; readonly password: string } | undefined;
  /** `--http-auth none`: open on purpose (no warning for a non-loopback address). */
  readonly open?: boolean | undefined;
}

/** The schemes `--http-auth` names: `none`, `bearer`, `basic` or `bearer,basic`. */
export type HttpAuthScheme = 'bearer' | 'basic';

/** `--http-auth` as written: `none`, or schemes separated by commas. */
export function parseHttpAuthFlag(text: string): readonly HttpAuthScheme[] {
  const words = text
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== '');
  if (words.length === 1 && words[0] === 'none') return [];
  const schemes = new Set<HttpAuthScheme>();
  for (const word of words) {
    if (word !== 'bearer' && word !== 'basic')
      throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid --http-auth '${text}'`, {
        hint: 'use bearer, basic, bearer,basic or none; the secrets come from WARREN_HTTP_TOKEN and WARREN_HTTP_BASIC',
      });
    schemes.add(word);
  }
  if (schemes.size === 0)
    throw new WarrenError(ErrorCodes.BAD_USAGE, 'empty --http-auth', {
      hint: 'use bearer, basic, bearer,basic or none',
    });
  return [...schemes];
}

/**
 * The receiver's auth: the secrets come from WARREN_HTTP_TOKEN and WARREN_HTTP_BASIC (`user:password`)
 * only, so they stay out of argv and `ps`. Without `--http-auth`, every secret set is required
 * (either one accepted); with it, the schemes it names, each of which must have its secret set
 * (a missing variable is a usage error, not an open receiver); `--http-auth none` with a secret
 * set is refused as a contradiction.
 */
export function resolveHttpAuth(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): HttpAuth {
  const token = env.WARREN_HTTP_TOKEN === '' ? undefined : env.WARREN_HTTP_TOKEN;
  const basic = env.WARREN_HTTP_BASIC;
  let parsed: HttpAuth['basic'];
  if (basic !== undefined && basic !== '') {
    const colon = basic.indexOf(':');
    if (colon <= 0) {
      throw new WarrenError(ErrorCodes.BAD_USAGE, 'WARREN_HTTP_BASIC must be user:password', {
        hint: 'e.g. WARREN_HTTP_BASIC=shipper:s3cret',
      });
    }
    parsed = { user: basic.slice(0, colon), password: basic.slice(colon + 1) };
  }
  if (flag === undefined) return { token, basic: parsed };
  const schemes = parseHttpAuthFlag(flag);
  if (schemes.length === 0) {
    if (token !== undefined || parsed !== undefined)
      throw new WarrenError(
        ErrorCodes.BAD_USAGE,
        `--http-auth none, but ${token !== undefined ? 'WARREN_HTTP_TOKEN' : 'WARREN_HTTP_BASIC'} is set`,
        { hint: 'unset the variable to run the receiver open, or name its scheme: --http-auth bearer' },
      );
    return { open: true };
  }
  if (schemes.includes('bearer') && token === undefined)
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--http-auth bearer needs WARREN_HTTP_TOKEN', {
      hint: 'export WARREN_HTTP_TOKEN=<token> (the secret is never a flag, so it stays out of ps)',
    });
  if (schemes.includes('basic') && parsed === undefined)
    throw new WarrenError(ErrorCodes.BAD_USAGE, '--http-auth basic needs WARREN_HTTP_BASIC', {
      hint: 'export WARREN_HTTP_BASIC=<user>:<password> (the secret is never a flag, so it stays out of ps)',
    });
  return {
    token: schemes.includes('bearer') ? token : undefined,
    basic: schemes.includes('basic') ? parsed : undefined,
  };
}

/** Whether an address is loopback only (nothing else can reach a receiver bound there). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Whether the configured auth asks anything of a sender. */
export function authRequired(auth: HttpAuth): boolean {
  return auth.token !== undefined || auth.basic !== undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a request's Authorization header satisfies the configured auth. */
export function authorized(auth: HttpAuth, header: string | undefined): boolean {
  if (auth.token === undefined && auth.basic === undefined) return true;
  if (header === undefined) return false;
  const [scheme = '', value = ''] = header.split(/\s+/, 2);
  if (auth.token !== undefined && scheme.toLowerCase() === 'bearer') return safeEqual(value, auth.token);
  if (auth.basic !== undefined && scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return safeEqual(decoded, `${auth.basic.user}:${auth.basic.password}`);
  }
  return false;
}
