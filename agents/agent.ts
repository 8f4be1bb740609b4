import type { Logger } from 'pino';
import { errorMessage } from '../protocol/index.js';
import { createFileInput } from './inputs/file.js';
import type { Input, InputContext } from './inputs/input.js';
import { createStreamInput } from './inputs/stdin.js';
import { createSyslogInput } from './inputs/syslog.js';
import type { HttpInputOptions } from './inputs/http/receiver.js';
import type { AgentConfig } from './options.js';
import { Shipper, resolveShipperConfig, shipperSettingsOf, type CloseResult } from './shipper.js';
import type { Stats } from './stats.js';

export interface Agent {
  readonly shipper: Shipper;
  start(): Promise<void>;
  /** Resolves when every input that can end (stdin) has ended. */
  readonly inputsEnded: Promise<void>;
  /** Stops inputs, then flushes to the broker or the spool; idempotent. */
  close(): Promise<CloseResult>;
  /** Current stats as log fields. */
  statsFields(): Record<string, string | number>;
}

/** The figures an operator asks for, in the order they read them (--verbose, SIGUSR1, the pino log). */
export function statsFields(stats: Stats, spoolBytes: number): Record<string, string | number> {
  return {
    read: stats.read,
    published: stats.published,
    confirmed: stats.confirmed,
    spooled: stats.spooled,
    dropped: stats.dropped,
    spool: `${(spoolBytes / (1024 * 1024)).toFixed(1)}MiB`,
    state: stats.state,
  };
}

/**
 * The HTTP receiver, loaded when it starts: fastify, prom-client and protobufjs are about 15 MiB of
 * resident memory that an agent without --http (syslog, files, stdin) should not carry.
 */
function lazyHttpInput(context: InputContext, options: HttpInputOptions): Input {
  let input: Input | undefined;
  return {
    name: `http ${options.address.host}:${options.address.port}`,
    ended: new Promise<void>(() => undefined),
    async start(): Promise<void> {
      const [{ createHttpInput }, { otlpDoor }, { lokiDoor }, { elasticDoor }] = await Promise.all([
        import('./inputs/http/receiver.js'),
        import('./inputs/http/otlp.js'),
        import('./inputs/http/loki.js'),
        import('./inputs/http/elastic.js'),
      ]);
      input = createHttpInput(context, options, [otlpDoor, lokiDoor, elasticDoor]);
      await input.start();
    },
    stop: async (): Promise<void> => input?.stop(),
    persist: (): void => input?.persist?.(),
    stats: (): Record<string, number> => input?.stats?.() ?? {},
  };
}

/** logship as an object: the inputs of the config feeding one shipper. */
export function createAgent(
  config: AgentConfig,
  logger: Logger,
  stdin: NodeJS.ReadableStream = process.stdin,
): Agent {
  const shipper = new Shipper(resolveShipperConfig({ ...shipperSettingsOf(config), logger }));
  const context: InputContext = {
    sink: shipper,
    logger,
    text: { json: config.json, multiline: config.multiline, maxLineBytes: config.maxLineBytes },
  };
  const inputs: Input[] = [];
  if (config.stdin) inputs.push(createStreamInput(context, stdin as NodeJS.ReadStream));
  if (config.files.length > 0) {
    inputs.push(
      createFileInput(context, {
        patterns: config.files,
        fromStart: config.fromStart,
        stateFile: config.stateFile,
      }),
    );
  }
  for (const address of config.syslog) inputs.push(createSyslogInput(context, address, config.maxLineBytes));
  if (config.http !== undefined) inputs.push(lazyHttpInput(context, config.http));
  const endable = inputs.filter((input) => input.name === 'stdin');
  const inputsEnded =
    endable.length === 0
      ? new Promise<void>(() => undefined)
      : Promise.all(endable.map((i) => i.ended)).then(() => undefined);
  let closing: Promise<CloseResult> | undefined;

  async function close(): Promise<CloseResult> {
    for (const input of inputs) {
      await input
        .stop()
        .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, `cannot stop ${input.name}`));
    }
    const result = await shipper.close();
    for (const input of inputs) input.persist?.();
    return result;
  }

  return {
    shipper,
    inputsEnded,
    async start(): Promise<void> {
      await shipper.start();
      try {
        for (const input of inputs) await input.start();
      } catch (err) {
        await close();
        throw err;
      }
    },
    close(): Promise<CloseResult> {
      closing ??= close();
      return closing;
    },
    statsFields: () => {
      const fields = statsFields(shipper.stats, shipper.spoolBytes);
      for (const input of inputs) Object.assign(fields, input.stats?.());
      return fields;
    },
  };
}
