import type { ParsedRecord } from '../record.js';
import { parseJsonLine } from './json.js';
import { LineSplitter, type Line } from './line.js';
import { MultilineJoiner, type MultilineOptions } from './multiline.js';

export interface TextOptions {
  /** Read JSON object lines (pino, bunyan) for level, time, msg and fields. */
  json: boolean;
  /** Join continuation lines; undefined turns joining off. */
  multiline: MultilineOptions | undefined;
  maxLineBytes: number;
}

/** One line (or joined lines) as a record: JSON objects are read, anything else is the message. */
export function lineToRecord(line: Line, json: boolean): ParsedRecord {
  const record = (json ? parseJsonLine(line.text) : undefined) ?? { msg: line.text };
  if (line.truncated > 0 || line.invalidUtf8) {
    const fields = { ...record.fields };
    if (line.truncated > 0) fields.truncated_bytes = line.truncated;
    if (line.invalidUtf8) fields.invalid_utf8 = true;
    record.fields = fields;
  }
  return record;
}

/**
 * Bytes → lines → joined records → the sink: the shared path of stdin and file inputs. Empty
 * lines carry nothing and are skipped.
 */
export class TextPipeline {
  private readonly splitter: LineSplitter;
  private readonly joiner: MultilineJoiner<Line> | undefined;

  constructor(
    private readonly options: TextOptions,
    private readonly sink: (record: ParsedRecord, line: Line) => void,
  ) {
    const emit = (line: Line): void => {
      if (line.text === '') return;
      this.sink(lineToRecord(line, options.json), line);
    };
    this.joiner =
      options.multiline === undefined ? undefined : new MultilineJoiner<Line>(options.multiline, emit);
    const joiner = this.joiner;
    this.splitter = new LineSplitter(
      joiner === undefined ? emit : (line) => joiner.push(line),
      options.maxLineBytes,
    );
  }

  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  /** End of stream: the partial last line and any held record go out. */
  end(): void {
    this.splitter.end();
    this.joiner?.close();
  }

  /** Stop without treating a partial line as complete (a followed file that may still grow). */
  stop(): void {
    this.joiner?.close();
  }

  /** Emits the held multi-line record now. */
  flushHeld(): void {
    this.joiner?.flush();
  }

  /** Stream offset before which every byte has reached the sink (not held, not partial). */
  get safeOffset(): number {
    return this.joiner?.holding?.start ?? this.splitter.consumed;
  }

  reset(offset: number): void {
    this.joiner?.flush();
    this.splitter.reset(offset);
  }
}
