import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '../../dashboard/sse.js';

/** Feeds `text` in pieces of `size` characters, as a network would split it. */
function parse(text: string, size: number): { messages: SseMessage[]; lastEventId: string } {
  const parser = new SseParser();
  const messages: SseMessage[] = [];
  for (let at = 0; at < text.length; at += size) messages.push(...parser.push(text.slice(at, at + size)));
  return { messages, lastEventId: parser.lastEventId };
}

describe('the Server-Sent Events parser', () => {
  // What the collector's stream writes: an opening block with retry, id and a comment, records,
  // a keepalive, a dropped notice; plus what the format allows besides (CRLF, CR, BOM, no space).
  const text =
    '\uFEFFretry: 2000\nid: 7\n: stream open after 7\n\n' +
    'id: 8\ndata: {"msg":"a"}\n\n' +
    ': keepalive\n\n' +
    'id: 9\r\ndata: {"msg":\r\ndata: "b"}\r\n\r\n' +
    'event: dropped\rid: 30\rdata:{"count":20}\r\r' +
    'data\n\n' +
    'id: 31\ndata: unfinished';

  it.each([1, 2, 3, 7, text.length])('reads the same messages however the text is split (%i)', (size) => {
    const { messages, lastEventId } = parse(text, size);
    expect(messages).toEqual([
      { event: 'message', data: '{"msg":"a"}', id: '8' },
      { event: 'message', data: '{"msg":\n"b"}', id: '9' },
      { event: 'dropped', data: '{"count":20}', id: '30' },
      { event: 'message', data: '', id: '30' },
    ]);
    // A block without its blank line is not dispatched, but its id already counts.
    expect(lastEventId).toBe('31');
  });

  it('dispatches nothing for a block without data, and keeps the event type to its own block', () => {
    const { messages } = parse('event: reset\nid: 3\n\ndata: x\n\n', 4);
    expect(messages).toEqual([{ event: 'message', data: 'x', id: '3' }]);
  });
});
