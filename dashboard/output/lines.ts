import type { StoredRecord } from '../../protocol/index.js';
import type { ConnectionStatus, Output, TailSink } from './sink.js';

export interface LineOutputOptions {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** One record as one line, without the newline (NDJSON or coloured text). */
  format: (record: StoredRecord) => string;
  /** The broker queue's cap, quoted when records are dropped. */
  maxLength: number;
  /** Called when the reader has gone (a closed pipe): the tail should stop. */
  stop: () => void;
}

/** How often drop reports are printed at most (ms): a flood of drops is one line a second. */
const REPORT_EVERY_MS = 1000;

/**
 * The writer behind the json and text modes: records to stdout, one per line, nothing else on it;
 * diagnostics to stderr, each line prefixed `logtail: `. Honours
 * backpressure: while stdout is full the returned promise holds the broker acks, so a slow pipe
 * makes the capped queue drop (and count) instead of this process growing.
 */
export function openLineOutput(options: LineOutputOptions): Output {
  let unreported = { broker: 0, seam: 0 };
  let timer: NodeJS.Timeout | undefined;
  let lastStatus: ConnectionStatus | undefined;

  const say = (text: string): void => {
    options.err.write(`logtail: ${text}\n`);
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

  // A closed pipe (`| head`) is the reader saying "enough": stop quietly with 0.
  options.out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') options.stop();
  });
  const sink: TailSink = {
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
      if (status === 'reconnecting' && detail?.kind === 'lost') {
        say(`lost the broker connection (${detail.reason}); reconnecting`);
      }
    },
    dropped(count, where) {
      unreported[where] += count;
      if (timer === undefined) {
        timer = setTimeout(flush, REPORT_EVERY_MS);
        timer.unref();
      }
    },
    notice(text) {
      say(text);
    },
  };
  return {
    sink,
    close() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
      return Promise.resolve();
    },
  };
}
