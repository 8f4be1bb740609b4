import { isUtf8 } from 'node:buffer';

/** Default cap on one line (bytes); longer lines are cut and marked, never buffered without bound. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** Appended to a line that was cut at the cap, with the number of bytes left out. */
export function truncationMarker(droppedBytes: number): string {
  return ` …[truncated ${droppedBytes} bytes]`;
}

export interface Line {
  text: string;
  /** Bytes cut off beyond the cap (0 when whole). */
  truncated: number;
  /** The bytes were not valid UTF-8; bad sequences became U+FFFD. */
  invalidUtf8: boolean;
  /** Byte offset in the stream where the line starts (file inputs resume from such offsets). */
  start: number;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/** Decodes bytes as UTF-8 leniently and says whether anything had to be replaced. */
export function decodeUtf8(buf: Buffer, start: number, end: number): { text: string; invalid: boolean } {
  const text = buf.toString('utf8', start, end);
  // Only a string holding U+FFFD can come from bad bytes; checking that first keeps the common path cheap.
  const invalid = text.includes('\uFFFD') && !isUtf8(buf.subarray(start, end));
  return { text, invalid };
}

/**
 * Splits a byte stream into lines (LF or CRLF) with a cap per line: a line longer than the cap is
 * cut there, marked, and the rest of it skipped, so one runaway line costs bounded memory.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the current line skipped past the cap. */
  private skipped = 0;
  /** Stream offset where the current (incomplete) line began. */
  private lineStart = 0;
  /** Stream offset of the chunk being split. */
  private chunkBase = 0;

  constructor(
    private readonly onLine: (line: Line) => void,
    private readonly maxBytes: number = DEFAULT_MAX_LINE_BYTES,
  ) {}

  /** Stream offset just past the last complete line: everything before it has been emitted. */
  get consumed(): number {
    return this.lineStart;
  }

  /** Starts counting offsets from `offset` (a file input resuming mid-file); drops any partial line. */
  reset(offset: number): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.skipped = 0;
    this.lineStart = offset;
    this.chunkBase = offset;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.take(chunk, start, nl, true);
      start = nl + 1;
      this.lineStart = this.chunkBase + start;
    }
    if (start < chunk.length) this.take(chunk, start, chunk.length, false);
    this.chunkBase += chunk.length;
  }

  /** Emits what is left as a last line (stream ended without a newline). */
  end(): void {
    if (this.pendingBytes > 0 || this.skipped > 0)
      this.emit(Buffer.concat(this.pending), 0, this.pendingBytes);
    this.lineStart = this.chunkBase;
  }

  private take(chunk: Buffer, start: number, end: number, complete: boolean): void {
    const room = this.maxBytes - this.pendingBytes;
    let stop = end;
    if (end - start > room) {
      this.skipped += end - start - Math.max(room, 0);
      stop = start + Math.max(room, 0);
    }
    if (!complete) {
      if (stop > start) {
        // Copy: the caller may reuse its chunk (fs.read into one buffer).
        this.pending.push(Buffer.from(chunk.subarray(start, stop)));
        this.pendingBytes += stop - start;
      }
      return;
    }
    if (this.pendingBytes === 0) {
      this.emit(chunk, start, stop);
      return;
    }
    if (stop > start) this.pending.push(chunk.subarray(start, stop));
    const whole = Buffer.concat(this.pending);
    this.emit(whole, 0, whole.length);
  }

  private emit(buf: Buffer, start: number, end: number): void {
    let stop = end;
    if (this.skipped === 0 && stop > start && buf[stop - 1] === CR) stop--;
    const { text, invalid } = decodeUtf8(buf, start, stop);
    const truncated = this.skipped;
    const lineStart = this.lineStart;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipped = 0;
    this.onLine({
      text: truncated > 0 ? text + truncationMarker(truncated) : text,
      truncated,
      invalidUtf8: invalid,
      start: lineStart,
    });
  }
}
