import { ErrorCodes, WarrenError } from './errors.js';

/** Defaults of CONTRACT §5, in one place. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_EXCHANGE = 'logs';
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** Options every command shares; validated once at the edge, then frozen. */
export interface CommonConfig {
  readonly amqpUrl: string;
  readonly exchange: string;
  readonly apiUrl: string;
  /** Bearer token for the HTTP API (WARREN_TOKEN); undefined when auth is off. */
  readonly token: string | undefined;
}

export interface CommonFlags {
  amqp?: string | undefined;
  exchange?: string | undefined;
  api?: string | undefined;
}

/** AMQP's own rule for exchange and queue names (letters, digits, - _ . :), up to 255 bytes. */
const AMQP_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/** True for a name Warren may declare: AMQP's characters, and not in the broker's reserved `amq.` space. */
export function isAmqpName(name: string): boolean {
  return AMQP_NAME.test(name) && !name.startsWith('amq.');
}

export function validateExchangeName(name: string): string {
  if (!isAmqpName(name)) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid exchange name '${name}'`, {
      hint: "use letters, digits, '-', '_', '.' or ':' (and not the reserved 'amq.' prefix)",
    });
  }
  return name;
}

interface UrlSetting {
  raw: string;
  /** Accepted schemes with their colon (`amqp:`); the first is the example in the hint. */
  protocols: readonly string[];
  /** What the URL points at, for the message (`broker`, `API`). */
  what: string;
  /** Where the user sets it (`--amqp or AMQP_URL`), for the hint. */
  flag: string;
}

/**
 * The broker addresses of `--amqp` / AMQP_URL: one URL, or several separated by commas (the nodes
 * of a cluster, CONTRACT §5), tried in turn.
 */
export function brokerAddresses(urls: string): string[] {
  return urls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/** A comma-separated list of URLs (a cluster's nodes), each valid. */
function validateUrls(setting: UrlSetting): string {
  const urls = brokerAddresses(setting.raw);
  if (urls.length === 0) return validateUrl(setting);
  for (const url of urls) validateUrl({ ...setting, raw: url });
  return urls.join(',');
}

function validateUrl({ raw, protocols, what, flag }: UrlSetting): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `invalid ${what} URL '${redactUrl(raw)}'`, {
      hint: `pass ${flag} with a URL such as ${protocols[0]}//127.0.0.1`,
    });
  }
  if (!protocols.includes(url.protocol)) {
    throw new WarrenError(ErrorCodes.BAD_USAGE, `${what} URL must start with ${protocols.join(' or ')}`, {
      hint: `got '${redactUrl(raw)}' from ${flag}`,
    });
  }
  return raw;
}

/** Flags beat the environment, which beats the defaults. */
export function resolveCommonConfig(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): CommonConfig {
  const token = env.WARREN_TOKEN;
  return Object.freeze({
    amqpUrl: validateUrls({
      raw: flags.amqp ?? nonEmpty(env.AMQP_URL) ?? DEFAULT_AMQP_URL,
      protocols: ['amqp:', 'amqps:'],
      what: 'broker',
      flag: '--amqp or AMQP_URL',
    }),
    exchange: validateExchangeName(flags.exchange ?? nonEmpty(env.WARREN_EXCHANGE) ?? DEFAULT_EXCHANGE),
    apiUrl: validateUrl({
      raw: flags.api ?? nonEmpty(env.WARREN_API) ?? DEFAULT_API_URL,
      protocols: ['http:', 'https:'],
      what: 'API',
      flag: '--api or WARREN_API',
    }).replace(/\/+$/, ''),
    token: nonEmpty(token),
  });
}

/** An environment variable's value, unless it is unset or blank (which means "not given"). */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The URL (or each of a comma-separated list) with its password hidden, for messages and logs. */
export function redactUrl(raw: string): string {
  if (raw.includes(',')) return brokerAddresses(raw).map(redactUrl).join(',');
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
