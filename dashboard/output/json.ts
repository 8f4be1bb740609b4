import { formatJsonLine } from '../format.js';
import { openLineOutput } from './lines.js';
import type { Output, OutputOptions } from './sink.js';

/** `--json` (the default in a pipe): NDJSON, one record per line as the API serves it. */
export function openJsonOutput(options: OutputOptions): Output {
  return openLineOutput({
    out: process.stdout,
    err: process.stderr,
    format: formatJsonLine,
    maxLength: options.maxLength,
    stop: options.stop,
  });
}
