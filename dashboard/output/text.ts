import type { StoredRecord } from '../../protocol/index.js';
import { formatTextLine, resolveColor } from '../format.js';
import { openLineOutput } from './lines.js';
import type { Output, OutputOptions } from './sink.js';

/** `--text` (the default on a terminal without a keyboard): one coloured text line per record. */
export function openTextOutput(options: OutputOptions): Output {
  const color = resolveColor(options.color, process.stdout.isTTY, process.env);
  return openLineOutput({
    out: process.stdout,
    err: process.stderr,
    format: (record: StoredRecord) => formatTextLine(record, color),
    maxLength: options.maxLength,
    stop: options.stop,
  });
}
