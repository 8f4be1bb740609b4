import build from 'pino-abstract-transport';
import { errorMessage, facilityFromName } from '../protocol/index.js';
import { createShipper, type AppShipperOptions } from './api.js';
import { fromJsonObject } from './parse/json.js';

/**
 * pino transport: `pino.transport({ target: 'warren/agents/pino-transport', options: { amqp,
 * exchange, facility, spool } })`. Runs in pino's worker thread; on close (the application
 * ends) it flushes every record to the broker, or to the spool if the broker is away, before
 * pino lets the process exit.
 */
export default async function warrenTransport(options: AppShipperOptions = {}) {
  const shipper = await createShipper(options);
  let resume: (() => void) | undefined;
  shipper.onResume(() => {
    resume?.();
    resume = undefined;
  });
  return build(
    async (source: AsyncIterable<Record<string, unknown>>) => {
      for await (const obj of source) {
        try {
          const record = fromJsonObject(obj, JSON.stringify(obj));
          // The logger's name (pino({ name })) is the app's name: its facility unless one is given.
          if (record.facility === undefined && options.facility === undefined && record.app !== undefined) {
            record.facility = facilityFromName(record.app);
          }
          shipper.ship(record);
        } catch (err) {
          process.stderr.write(`warren pino transport: cannot ship a record: ${errorMessage(err)}\n`);
        }
        // Back-pressure: pino's buffer fills (and pino waits) instead of memory growing.
        if (!shipper.accepting) await new Promise<void>((resolve) => (resume = resolve));
      }
    },
    {
      async close() {
        const result = await shipper.close();
        if (result.lost > 0) {
          process.stderr.write(
            `warren pino transport: ${result.lost} records could not be kept (spool full)\n`,
          );
        }
      },
    },
  );
}
