/** Lines that continue the previous record by default: indented lines (stack frames) and `Caused by:`. */
export const DEFAULT_CONTINUATION = /^(?:[ \t]|Caused by:|\.\.\. \d+ more)/;

/** Default wait for more continuation lines before the held record is shipped alone. */
export const DEFAULT_MULTILINE_LINGER_MS = 250;

export interface MultilineOptions {
  /** A line matching this joins the record before it. */
  continuation: RegExp;
  /** Cap on a joined record in characters; further continuation lines start a new record. */
  maxChars: number;
  /** How long a record waits for continuations before it is emitted. */
  lingerMs: number;
}

/**
 * Joins continuation lines into the record they belong to (stack traces). The last record is
 * held until the next line shows it is complete, or until the linger time passes.
 */
export class MultilineJoiner<T extends { text: string }> {
  private held: T | undefined;
  private parts: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set on every line; the timer only emits when no line came during a whole linger period. */
  private touched = false;

  constructor(
    private readonly options: MultilineOptions,
    private readonly emit: (line: T) => void,
  ) {}

  push(line: T): void {
    this.touched = true;
    if (
      this.held !== undefined &&
      this.options.continuation.test(line.text) &&
      this.chars + line.text.length < this.options.maxChars
    ) {
      this.parts.push(line.text);
      this.chars += line.text.length + 1;
      return;
    }
    this.flush();
    this.held = line;
    this.parts = [line.text];
    this.chars = line.text.length;
    // One timer per period, not one per line: re-arming a timeout for every line is measurable at 100k/s.
    this.timer ??= setTimeout(() => this.onTimer(), this.options.lingerMs);
  }

  /** The first line of the record being held, if any. */
  get holding(): T | undefined {
    return this.held;
  }

  /** Emits the held record now (end of input, shutdown). */
  flush(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    if (this.parts.length > 1) held.text = this.parts.join('\n');
    this.parts = [];
    this.chars = 0;
    this.emit(held);
  }

  close(): void {
    this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.held === undefined) return;
    if (this.touched) {
      this.touched = false;
      this.timer = setTimeout(() => this.onTimer(), this.options.lingerMs);
      return;
    }
    this.flush();
  }
}
