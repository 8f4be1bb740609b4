import amqp, { type ChannelModel, type RecoveringChannelModel, type RecoveryOptions } from 'amqplib';
import { redactUrl } from './config.js';
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

/** Maps socket and AMQP failures on connect to a message that says what failed and what to do. */
export function describeConnectError(err: unknown, url: string): WarrenError {
  if (err instanceof WarrenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const where = redactUrl(url);
  if (/ACCESS[-_]REFUSED|403/.test(message)) {
    return new WarrenError(ErrorCodes.BROKER_AUTH, `RabbitMQ at ${where} refused the login`, {
      cause: err,
      hint: 'check the user and password in --amqp or AMQP_URL',
    });
  }
  const reason = typeof code === 'string' ? code : message;
  return new WarrenError(ErrorCodes.BROKER_UNREACHABLE, `cannot reach RabbitMQ at ${where} (${reason})`, {
    cause: err,
    hint: 'start it (rabbitmq-server -detached, or docker compose up -d rabbitmq) or point --amqp / AMQP_URL at it',
  });
}

/** One connection attempt with a clear error; for tools that should fail fast. */
export async function connectBroker(url: string, options: ConnectOptions): Promise<ChannelModel> {
  try {
    return await amqp.connect(withHeartbeat(url), socketOptions(options));
  } catch (err) {
    throw describeConnectError(err, url);
  }
}

/**
 * A connection that amqplib re-opens with back-off whenever it drops; `setup` runs on every new
 * connection (declare topology, open channels, start consumers). With `waitForConnect: false` it
 * returns at once, so a component can start while the broker is still away. Warren's one reconnect
 * strategy: the agent, logtail and the collector all use it.
 */
export async function connectRecovering(
  url: string,
  options: ConnectOptions & { recovery?: Omit<RecoveryOptions, 'waitForConnect'>; waitForConnect?: boolean },
): Promise<RecoveringChannelModel> {
  try {
    return await amqp.connect(withHeartbeat(url), {
      ...socketOptions(options),
      recovery: {
        initialDelay: 200,
        maxDelay: 5_000,
        jitter: 0.5,
        ...options.recovery,
        waitForConnect: options.waitForConnect ?? false,
      },
    });
  } catch (err) {
    throw describeConnectError(err, url);
  }
}
