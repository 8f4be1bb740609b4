import { decodeUtf8, truncationMarker } from './line.js';

/**
 * Splits a syslog TCP stream into frames (RFC 6587): octet-counted (`LEN SP MSG`) when a frame
 * starts with a digit, newline-delimited otherwise; both may mix on one connection. Frames are
 * capped; the excess is skipped and marked.
 */
export class SyslogFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes still to skip of an over-long octet-counted frame. */
  private skipping = 0;
  private truncatedText: string | undefined;
  /** The kept start of an over-long newline-framed line whose rest is skipped up to its newline. */
  private lineHead: string | undefined;
  /** Bytes of that line skipped so far, and whether the last of them was a CR (of a CRLF split by reads). */
  private lineSkipped = 0;
  private lineSkippedCr = false;

  constructor(
    private readonly onFrame: (text: string) => void,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Buffer): void {
    if (this.buf.length === 0) {
      this.buf = chunk;
    } else {
      // The last read's rest is the start of one frame: join it with only as much of this read as
      // that frame needs. Joining whole reads copied every 64 KiB read once more (issue 15).
      const head = this.pendingFrameEnd(chunk);
      this.buf = Buffer.concat([this.buf, chunk.subarray(0, head)]);
      this.drain();
      this.buf =
        this.buf.length === 0 ? chunk.subarray(head) : Buffer.concat([this.buf, chunk.subarray(head)]);
    }
    this.drain();
    // A rest viewing a large read would keep the whole read alive until the next one (which may be
    // long while the input is paused): it is copied out.
    if (this.buf.length > 0 && this.buf.length * 4 < this.buf.buffer.byteLength)
      this.buf = Buffer.from(this.buf);
  }

  /**
   * How many bytes of `chunk` finish the frame whose start is held: up to its first newline, or
   * its octet count; the whole chunk when that cannot be told (only a guess: more bytes are fine).
   */
  private pendingFrameEnd(chunk: Buffer): number {
    const header = octetHeader(this.buf);
    if (header === 'more' || (header !== undefined && header.length > this.maxBytes)) return chunk.length;
    if (header !== undefined)
      return Math.max(0, Math.min(chunk.length, header.start + header.length - this.buf.length));
    const nl = chunk.indexOf(0x0a);
    return nl < 0 ? chunk.length : nl + 1;
  }

  /** Takes every complete frame from `buf`. */
  private drain(): void {
    for (;;) {
      if (this.lineHead !== undefined && !this.skipLine()) return;
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.buf.length);
        this.skipping -= n;
        this.buf = this.buf.subarray(n);
        if (this.skipping > 0) return;
        if (this.truncatedText !== undefined) this.onFrame(this.truncatedText);
        this.truncatedText = undefined;
      }
      if (this.buf.length === 0) return;
      if (this.takeLines()) continue;
      if (!this.next()) return;
    }
  }

  /**
   * The common case, as next() reads it: whole newline-framed lines that start with no digit (so
   * with no octet count), read at an offset with one view of the rest at the end, not one per line
   * (a view per line was ~3% of a relay's CPU and most of its young garbage). False when the first
   * frame is not such a line: next() takes it.
   */
  private takeLines(): boolean {
    const buf = this.buf;
    let pos = 0;
    while (pos < buf.length) {
      const first = buf[pos]!;
      if (first >= 0x30 && first <= 0x39) break;
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break;
      this.shipLine(buf, pos, nl);
      pos = nl + 1;
    }
    if (pos === 0) return false;
    this.buf = buf.subarray(pos);
    return true;
  }

  /** Skips the rest of an over-long line up to its newline; true once it is shipped, cut and marked. */
  private skipLine(): boolean {
    const nl = this.buf.indexOf(0x0a);
    if (nl < 0) {
      this.lineSkipped += this.buf.length;
      if (this.buf.length > 0) this.lineSkippedCr = this.buf[this.buf.length - 1] === 0x0d;
      this.buf = Buffer.alloc(0);
      return false;
    }
    const cr = nl > 0 ? this.buf[nl - 1] === 0x0d : this.lineSkippedCr;
    this.shipCutLine(this.lineSkipped + nl - (cr ? 1 : 0));
    this.buf = this.buf.subarray(nl + 1);
    return true;
  }

  private shipCutLine(skipped: number): void {
    this.onFrame(`${this.lineHead ?? ''}${truncationMarker(skipped)}`);
    this.lineHead = undefined;
    this.lineSkipped = 0;
    this.lineSkippedCr = false;
  }

  /** End of connection: a partial newline-framed message is still a message. */
  end(): void {
    if (this.lineHead !== undefined) this.shipCutLine(this.lineSkipped - (this.lineSkippedCr ? 1 : 0));
    if (this.buf.length > 0 && this.skipping === 0) {
      const text = decodeUtf8(this.buf, 0, Math.min(this.buf.length, this.maxBytes)).text.replace(
        /[\r\n]+$/,
        '',
      );
      if (text.trim() !== '') this.onFrame(text);
    }
    this.buf = Buffer.alloc(0);
  }

  /** Takes one frame if complete; false when more bytes are needed. */
  private next(): boolean {
    const header = octetHeader(this.buf);
    if (header === 'more') return false;
    if (header !== undefined) {
      const { length, start } = header;
      if (length > this.maxBytes) {
        if (this.buf.length < start + this.maxBytes) return false;
        this.truncatedText =
          decodeUtf8(this.buf, start, start + this.maxBytes).text + truncationMarker(length - this.maxBytes);
        this.skipping = length - this.maxBytes;
        this.buf = this.buf.subarray(start + this.maxBytes);
        return true;
      }
      if (this.buf.length < start + length) return false;
      this.onFrame(decodeUtf8(this.buf, start, start + length).text);
      this.buf = this.buf.subarray(start + length);
      return true;
    }
    // Not octet-counted (digits without a valid count too): a newline-framed line.
    const nl = this.buf.indexOf(0x0a);
    if (nl < 0) {
      if (this.buf.length <= this.maxBytes) return false;
      // An endless line: its start is kept and the rest skipped to its newline, where it ships.
      this.lineHead = decodeUtf8(this.buf, 0, this.maxBytes).text;
      this.buf = this.buf.subarray(this.maxBytes);
      return true;
    }
    const buf = this.buf;
    this.buf = buf.subarray(nl + 1);
    this.shipLine(buf, 0, nl);
    return true;
  }

  /** The newline-framed line from `start` to the newline at `nl` (CR dropped), cut at the cap; blank ones are skipped. */
  private shipLine(buf: Buffer, start: number, nl: number): void {
    const length = (nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl) - start;
    const text = decodeUtf8(buf, start, start + Math.min(length, this.maxBytes)).text;
    if (text.trim() !== '')
      this.onFrame(length > this.maxBytes ? text + truncationMarker(length - this.maxBytes) : text);
  }
}

/**
 * The octet count (`LEN SP`, RFC 6587) `buf` starts with: the message's length and where it
 * starts; 'more' while the digits so far may still become one; undefined when it is not one (the
 * frame is then newline-delimited, digits and all).
 */
function octetHeader(buf: Buffer): { length: number; start: number } | 'more' | undefined {
  const first = buf[0]!;
  if (first < 0x30 || first > 0x39) return undefined;
  const space = buf.indexOf(0x20);
  const digits = space < 0 ? buf.length : space;
  const header = buf.toString('latin1', 0, Math.min(digits, 12));
  if (/^\d{1,10}$/.test(header) && space > 0 && space <= 10)
    return { length: Number(header), start: space + 1 };
  return space < 0 && digits <= 10 && /^\d*$/.test(header) ? 'more' : undefined;
}
