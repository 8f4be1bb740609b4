import { openJsonOutput } from './json.js';
import type { Output, OutputOptions } from './sink.js';
import { openTextOutput } from './text.js';
import { openScreenOutput } from './screen.js';

/** How logtail shows what it tails: the Ink screen, NDJSON, or text lines. */
export type OutputMode = 'screen' | 'json' | 'text';

/** The one place an output mode becomes an output. */
export function openOutput(mode: OutputMode, options: OutputOptions): Promise<Output> {
  switch (mode) {
    case 'screen':
      return openScreenOutput(options);
    case 'json':
      return Promise.resolve(openJsonOutput(options));
    case 'text':
      return Promise.resolve(openTextOutput(options));
  }
}
