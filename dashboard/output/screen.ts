import v8 from 'node:v8';
import { resolveColor } from '../format.js';
import type { Output, OutputOptions } from './sink.js';

/**
 * Tunes this process for a person watching an Ink screen; must run before React is loaded.
 */
function prepareForScreen(): void {
  // React's development build records a performance.measure() per render, kept by Node for ever
  // (7 MB a minute at 20 000 records/s) and is slower; a terminal tool runs the production build.
  process.env.NODE_ENV ??= 'production';
  // A person is watching this terminal: with CI set (as in a CI job's tmux) Ink draws only the last frame.
  process.env.CI = 'false';
  process.env.CONTINUOUS_INTEGRATION = 'false';
  // At 20 000 records/s the screen's garbage is short-lived, but V8 grows the young generation to
  // 32 MiB and lets the old one reach up to 4x its live size between major GCs: RSS 225 MiB in 60 s.
  // Keeping the young generation at its start size and growing the heap by 20% holds it near
  // 110 MiB for ~25% more CPU (0.37 -> 0.46 s/s); both flags are read at run time, so this works here.
  v8.setFlagsFromString('--heap-growing-percent=20');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** The Ink screen (stdin and stdout are terminals): the stream, counts, rates and keys. */
export async function openScreenOutput(options: OutputOptions): Promise<Output> {
  prepareForScreen();
  // Loaded only for the screen: pipes and scripts never pay for React.
  const { mountScreen } = await import('../ui/run.js');
  const screen = mountScreen({
    patterns: options.patterns,
    color: resolveColor(options.color, true, process.env),
    api: options.api,
  });
  // q or Ctrl-C on the screen ends the tail.
  void screen.exited.then(options.stop);
  return { sink: screen.sink, close: () => screen.close() };
}
