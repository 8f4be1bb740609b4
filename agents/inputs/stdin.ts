import type { Readable } from 'node:stream';
import { TextPipeline } from '../parse/text.js';
import type { Input, InputContext } from './input.js';

/**
 * Lines from a readable stream (stdin by default). Pauses the stream while the spool is full,
 * so a fast producer is slowed down rather than anything being dropped.
 */
export function createStreamInput(
  context: InputContext,
  stream: Readable = process.stdin,
  name = 'stdin',
): Input {
  const pipeline = new TextPipeline(context.text, (record) => context.sink.log(record));
  let finish: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  let done = false;
  const end = (): void => {
    if (done) return;
    done = true;
    pipeline.end();
    finish();
  };
  const onData = (chunk: Buffer | string): void => {
    pipeline.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (!context.sink.accepting) stream.pause();
  };
  return {
    name,
    ended,
    start(): Promise<void> {
      context.sink.onResume(() => {
        if (!done) stream.resume();
      });
      stream.on('data', onData);
      stream.once('end', end);
      stream.once('close', end);
      stream.on('error', (err: Error) => {
        context.logger.warn({ err: err.message }, `${name} failed; treating it as ended`);
        end();
      });
      return Promise.resolve();
    },
    stop(): Promise<void> {
      stream.off('data', onData);
      stream.pause();
      end();
      return Promise.resolve();
    },
  };
}
