import amqp, {
  type ChannelModel,
  type Options,
  type RecoveringChannelModel,
  type RecoveryOptions,
} from 'amqplib';
import { brokerAddresses, redactUrl } from './config.js';
import { ErrorCodes, WarrenError } from './errors.js';

/** Seconds between heartbeats: a dead TCP peer is noticed within two of them. */
export const HEARTBEAT_SECONDS = 10;

interface ConnectOptions {
  /** Shown in the management UI and `rabbitmqctl list_connections` (e.g. `logship@web-01`). */
  name: string;
}

function socketOptions(options: ConnectOptions): { clientProperties: Record<string, unknown> } {
  return { clientProperties: { connection_name: options.name, product: 'warren' } };
}

function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(HEARTBEAT_SECONDS));
  return parsed.toString();
}

/** One address as amqplib's connection object, so a reconnect can point it at another node. */
function connectTarget(url: string): Options.Connect {
  const parsed = new URL(withHeartbeat(url));
  const number = (name: string): number | undefined => {
    const value = parsed.searchParams.get(name);
    return value === null ? undefined : Number(value);
  };
  const hasCredentials = parsed.username !== '' || parsed.password !== '';
  return {
    protocol: parsed.protocol.replace(/:$/, ''),
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    ...(parsed.port === '' ? {} : { port: Number(parsed.port) }),
    // amqplib defaults to guest/guest only when both are absent, as for a URL without them.
    ...(hasCredentials
      ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
      : {}),
    vhost: parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : '/',
    heartbeat: number('heartbeat'),
    frameMax: number('frameMax'),
    channelMax: number('channelMax'),
  };
}

/** Maps socket and AMQP failures on connect to a message that says what failed and what to do. */
export function describeConnectError(err: unknown, url: string): WarrenError {
  if (err instanceof WarrenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const where = redactUrl(url);
  if (
    (typeof code === 'string' && /^ERR_SSL_|^ERR_TLS_|CERT|EPROTO/.test(code)) ||
    /SSL routines/.test(message)
  ) {
    return new WarrenError(
      ErrorCodes.BROKER_TLS,
      `TLS with RabbitMQ at ${where} failed (${typeof code === 'string' ? code : message})`,
      {
        cause: err,
        hint: "amqps:// needs the broker's TLS port (usually 5671); use amqp:// for the plain port 5672, or check the certificates",
      },
    );
  }
  // By AMQP's reply name only: OpenSSL's messages start with a hex thread address that may hold "403".
  if (/ACCESS[-_]REFUSED/.test(message)) {
    return new WarrenError(ErrorCodes.BROKER_AUTH, `RabbitMQ at ${where} refused the login`, {
      cause: err,
      hint: 'check the user and password in --amqp or AMQP_URL',
    });
  }
  // The broker closes the handshake instead of opening the vhost (unknown, or no permission).
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message)) {
    const vhost = decodeURIComponent(new URL(brokerAddresses(url)[0] ?? url).pathname.slice(1)) || '/';
    return new WarrenError(
      ErrorCodes.BROKER_AUTH,
      `RabbitMQ at ${where} refused the virtual host '${vhost}'`,
      {
        cause: err,
        hint: 'fix the vhost in --amqp or AMQP_URL, or create it and grant the user access (rabbitmqctl add_vhost, set_permissions)',
      },
    );
  }
  const reason = typeof code === 'string' ? code : message;
  return new WarrenError(ErrorCodes.BROKER_UNREACHABLE, `cannot reach RabbitMQ at ${where} (${reason})`, {
    cause: err,
    hint: 'start it (rabbitmq-server -detached, or docker compose up -d rabbitmq) or point --amqp / AMQP_URL at it',
  });
}

/**
 * A failure that retrying cannot cure (login, vhost, TLS, a topology clash), as opposed to a
 * broker that is away (refused, reset, timed out), which comes back by itself.
 */
export function isPermanentBrokerError(err: WarrenError): boolean {
  return (
    err.code === ErrorCodes.BROKER_AUTH ||
    err.code === ErrorCodes.BROKER_TLS ||
    err.code === ErrorCodes.TOPOLOGY_CLASH
  );
}

/**
 * One connection with a clear error; for tools that should fail fast. With several addresses each
 * is tried in turn; a refusal retrying cannot cure (login, vhost, TLS) is reported at once.
 */
export async function connectBroker(urls: string, options: ConnectOptions): Promise<ChannelModel> {
  let last: WarrenError | undefined;
  for (const url of brokerAddresses(urls)) {
    try {
      return await amqp.connect(withHeartbeat(url), socketOptions(options));
    } catch (err) {
      last = describeConnectError(err, url);
      if (isPermanentBrokerError(last)) throw last;
    }
  }
  throw last ?? new WarrenError(ErrorCodes.BAD_USAGE, 'no broker address given');
}

/**
 * A connection that amqplib re-opens with back-off whenever it drops; `setup` runs on every new
 * connection (declare topology, open channels, start consumers). With `waitForConnect: false` it
 * returns at once, so a component can start while the broker is still away. With several
 * addresses, every reconnect goes to the next one, so a dead node is passed over. Warren's one
 * reconnect strategy: the agent, logtail and the collector all use it.
 */
export async function connectRecovering(
  urls: string,
  options: ConnectOptions & { recovery?: Omit<RecoveryOptions, 'waitForConnect'>; waitForConnect?: boolean },
): Promise<RecoveringChannelModel> {
  const addresses = brokerAddresses(urls);
  const first = addresses[0] ?? urls;
  let model: RecoveringChannelModel;
  // amqplib reads the target on each attempt: rotating it is how recovery fails over.
  const target = connectTarget(first);
  try {
    model = await amqp.connect(addresses.length > 1 ? target : withHeartbeat(first), {
      ...socketOptions(options),
      recovery: {
        initialDelay: 200,
        maxDelay: 5_000,
        jitter: 0.5,
        ...options.recovery,
        waitForConnect: false,
      },
    });
  } catch (err) {
    throw describeConnectError(err, first);
  }
  if (addresses.length > 1) {
    let next = 0;
    model.on('reconnect-scheduled', () => {
      next = (next + 1) % addresses.length;
      Object.assign(target, connectTarget(addresses[next] ?? first));
    });
  }
  if (options.waitForConnect === true) {
    try {
      await model.waitForConnect();
    } catch (err) {
      throw describeConnectError(err, first);
    }
  }
  return model;
}
