import type { StoredRecord } from '../protocol/index.js';
import type { ConnectionStatus } from './state.js';
import type { TailSink } from './tail.js';

export interface LineSinkOptions {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** One record as one line, without the newline (NDJSON or coloured text). */
  format: (record: StoredRecord) => string;
  /** The broker queue's cap, quoted when records are dropped. */
  maxLength: number;
  /** How often drop reports are printed at most (ms). */
  reportEveryMs?: number;
  program?: string;
}

/**
 * Records to a stream (stdout), one per line, nothing else on it; diagnostics to stderr. Honours
 * backpressure: while stdout is full the returned promise holds the broker acks, so a slow pipe
 * makes the capped queue drop (and count) instead of this process growing.
 */
export function createLineSink(options: LineSinkOptions): TailSink & { flush(): void } {
  const program = options.program ?? 'logtail';
  const every = options.reportEveryMs ?? 1000;
  let unreported = { broker: 0, seam: 0 };
  let timer: NodeJS.Timeout | undefined;
  let lastStatus: ConnectionStatus | undefined;

  const say = (text: string): void => {
    options.err.write(`${program}: ${text}\n`);
  };
  const flush = (): void => {
    timer = undefined;
    if (unreported.broker > 0) {
      say(
        `${unreported.broker} record(s) dropped by the broker: this tail could not keep up (its queue keeps ${options.maxLength}; raise --max-length or narrow the patterns)`,
      );
    }
    if (unreported.seam > 0)
      say(`${unreported.seam} live record(s) dropped while the history was read (hold buffer full)`);
    unreported = { broker: 0, seam: 0 };
  };

  return {
    records(records) {
      let chunk = '';
      for (const r of records) chunk += `${options.format(r)}\n`;
      if (options.out.write(chunk)) return undefined;
      return new Promise<void>((resolve) => {
        options.out.once('drain', resolve);
      });
    },
    status(status, detail) {
      if (status === lastStatus) return;
      lastStatus = status;
      // Connecting and going live are silent: stdout is for records, stderr for what goes wrong
      // (the recovery itself is reported by the tail as a notice).
      if (status === 'reconnecting' && detail !== undefined && !detail.includes('; retry ')) {
        say(`lost the broker connection (${detail}); reconnecting`);
      }
    },
    dropped(count, where) {
      unreported[where] += count;
      if (timer === undefined) {
        timer = setTimeout(flush, every);
        timer.unref();
      }
    },
    notice(text) {
      say(text);
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
    },
  };
}
