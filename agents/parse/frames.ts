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

  constructor(
    private readonly onFrame: (text: string) => void,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.buf.length);
        this.skipping -= n;
        this.buf = this.buf.subarray(n);
        if (this.skipping > 0) return;
        if (this.truncatedText !== undefined) this.onFrame(this.truncatedText);
        this.truncatedText = undefined;
      }
      if (this.buf.length === 0) return;
      if (!this.next()) return;
    }
  }

  /** End of connection: a partial newline-framed message is still a message. */
  end(): void {
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
    const first = this.buf[0]!;
    if (first >= 0x30 && first <= 0x39) {
      const space = this.buf.indexOf(0x20);
      const digits = space < 0 ? this.buf.length : space;
      const header = this.buf.toString('latin1', 0, Math.min(digits, 12));
      if (/^\d{1,10}$/.test(header) && space > 0 && space <= 10) {
        const length = Number(header);
        const start = space + 1;
        if (length > this.maxBytes) {
          if (this.buf.length < start + this.maxBytes) return false;
          this.truncatedText =
            decodeUtf8(this.buf, start, start + this.maxBytes).text +
            truncationMarker(length - this.maxBytes);
          this.skipping = length - this.maxBytes;
          this.buf = this.buf.subarray(start + this.maxBytes);
          return true;
        }
        if (this.buf.length < start + length) return false;
        this.onFrame(decodeUtf8(this.buf, start, start + length).text);
        this.buf = this.buf.subarray(start + length);
        return true;
      }
      if (space < 0 && digits <= 10 && /^\d*$/.test(header)) return false;
      // Digits but no valid count: not octet-counted; read it as a newline-framed line.
    }
    const nl = this.buf.indexOf(0x0a);
    if (nl < 0) {
      if (this.buf.length <= this.maxBytes) return false;
      // An endless line: cut it at the cap.
      this.onFrame(
        decodeUtf8(this.buf, 0, this.maxBytes).text + truncationMarker(this.buf.length - this.maxBytes),
      );
      this.buf = Buffer.alloc(0);
      return false;
    }
    const end = nl > 0 && this.buf[nl - 1] === 0x0d ? nl - 1 : nl;
    const text = decodeUtf8(this.buf, 0, Math.min(end, this.maxBytes)).text;
    this.buf = this.buf.subarray(nl + 1);
    if (text.trim() !== '')
      this.onFrame(end > this.maxBytes ? text + truncationMarker(end - this.maxBytes) : text);
    return true;
  }
}
