/** One Server-Sent Events message: `event` is 'message' unless the server named it. */
export interface SseMessage {
  event: string;
  data: string;
  /** The last `id:` seen so far (the position to resume from), '' before any. */
  id: string;
}

/**
 * The text/event-stream format as the WHATWG spec reads it: lines end in LF, CR or CRLF (also
 * split across chunks), `data:` lines join with LF, `:` lines are comments, `retry:` and unknown
 * fields are ignored, and a block without data dispatches nothing but may still move the id.
 */
export class SseParser {
  #buffer = '';
  #started = false;
  #data: string[] = [];
  #event = '';
  #lastId = '';

  /** The position to resume from: the last `id:` the server sent. */
  get lastEventId(): string {
    return this.#lastId;
  }

  /** Feeds decoded text; returns the messages it completed, in order. */
  push(text: string): SseMessage[] {
    let buffer = this.#buffer + text;
    if (!this.#started && buffer.length > 0) {
      this.#started = true;
      if (buffer.startsWith('\uFEFF')) buffer = buffer.slice(1);
    }
    const out: SseMessage[] = [];
    const endings = /\r\n|\r|\n/g;
    let start = 0;
    for (let match = endings.exec(buffer); match !== null; match = endings.exec(buffer)) {
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (match[0] === '\r' && match.index === buffer.length - 1) break;
      this.#line(buffer.slice(start, match.index), out);
      start = match.index + match[0].length;
    }
    this.#buffer = buffer.slice(start);
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) {
        out.push({
          event: this.#event === '' ? 'message' : this.#event,
          data: this.#data.join('\n'),
          id: this.#lastId,
        });
      }
      this.#data = [];
      this.#event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.#lastId = value;
  }
}
