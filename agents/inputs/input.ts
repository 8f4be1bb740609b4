import type { Logger } from 'pino';
import type { TextOptions } from '../parse/text.js';
import type { ParsedRecord } from '../record.js';

/** What an input needs of the shipper: a narrow face, so inputs can be tested with a fake. */
export interface RecordSink {
  log(record: ParsedRecord): void;
  /** False while an input that can wait must pause (back-pressure, or the spool is full). */
  readonly accepting: boolean;
  /** True while the spool is full: what a lossy input cannot hand over is dropped. */
  readonly spoolFull: boolean;
  onResume(listener: () => void): void;
  /** Called after each spool fsync: records spooled or confirmed by then are safe (file positions). */
  onSynced(listener: () => void): void;
  /** A lossy input could not hand records over. */
  dropped(count?: number): void;
  /** Smallest sequence a crash now would lose; undefined when none. */
  volatileFrom(): number | undefined;
  /** Sequence the next record will get. */
  readonly nextSeq: number;
  /** Resolves true once every record below `end` is confirmed or fsync'd in the spool (false after `timeoutMs`, or once the spool is full while some are not). */
  whenSafe(end: number, timeoutMs: number): Promise<boolean>;
}

export interface InputContext {
  sink: RecordSink;
  logger: Logger;
  text: TextOptions;
}

export interface Input {
  readonly name: string;
  start(): Promise<void>;
  /** Resolves when the input ends by itself (stdin at EOF); inputs that never end leave it pending. */
  readonly ended: Promise<void>;
  /** Stops reading; everything already read has been handed to the sink when it resolves. */
  stop(): Promise<void>;
  /** Called after the shipper closed (all records confirmed or spooled): save positions. */
  persist?(): void;
  /** Figures of its own for the stats line (--verbose, SIGUSR1), e.g. the HTTP receiver's requests. */
  stats?(): Record<string, number>;
}
