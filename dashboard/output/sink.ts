import type { ApiOptions } from '../api.js';
import type { StoredRecord } from '../../protocol/index.js';
import type { ColorMode } from '../format.js';

/** Where the live stream stands, for the header and stderr. */
export type ConnectionStatus = 'connecting' | 'backfilling' | 'live' | 'reconnecting' | 'closed';

/**
 * What goes with a status: a note for the person watching, or the broker connection lost (once)
 * and each retry after it, so an output can tell the two apart without reading the wording.
 */
export type StatusDetail =
  | { readonly kind: 'note'; readonly text: string }
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'retry'; readonly reason: string; readonly attempt: number; readonly delayMs: number };

/** The detail as one line of text, as the screen's header shows it. */
export function statusText(detail: StatusDetail): string {
  switch (detail.kind) {
    case 'note':
      return detail.text;
    case 'lost':
      return detail.reason;
    case 'retry':
      return `${detail.reason}; retry ${detail.attempt} in ${(detail.delayMs / 1000).toFixed(1)}s`;
  }
}

/** Records lost on the way: `broker` = the capped queue dropped them; `seam` = the hold buffer was full. */
export type DropSite = 'broker' | 'seam';

/** Where records and the run's state go: NDJSON, text lines or the Ink screen (one output mode each). */
export interface TailSink {
  /** Records to show, in order; a returned promise holds further acks (backpressure). */
  records(records: StoredRecord[]): void | Promise<void>;
  status(status: ConnectionStatus, detail?: StatusDetail): void;
  dropped(count: number, where: DropSite): void;
  /** A diagnostic for the person watching (stderr, or a line on the screen). */
  notice(text: string): void;
}

/** One output mode, opened: its sink, and how to finish it once the tail has ended. */
export interface Output {
  readonly sink: TailSink;
  /** Flushes what is pending (drop reports, the screen's last frame) and lets go of the terminal. */
  close(): Promise<void>;
}

/** What every output mode is opened with (resolved at the CLI edge). */
export interface OutputOptions {
  /** The patterns as the user typed them (the screen's header shows them). */
  readonly patterns: readonly string[];
  readonly color: ColorMode;
  /** The broker queue's cap, quoted when records are dropped. */
  readonly maxLength: number;
  /** Ends the tail: the user quit the screen, or the pipe's reader went away. */
  readonly stop: () => void;
  /** The collector's API, where the screen reads a record's context. */
  readonly api: ApiOptions;
}
