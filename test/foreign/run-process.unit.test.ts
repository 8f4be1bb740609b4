import { expect, it } from 'vitest';
import { runProcess } from '../../testkit/foreign.js';

// logger exits without reading stdin; under load that raised an unhandled EPIPE in a whole run.
it('runProcess survives a child that exits without reading its stdin', async () => {
  for (let i = 0; i < 20; i++) {
    const result = await runProcess('true', [], { input: 'x'.repeat(4_000_000) });
    expect(result.code).toBe(0);
  }
});

it('runProcess reports the exit code and both outputs', async () => {
  const result = await runProcess('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: 'hello' });
  expect(result).toEqual({ code: 3, stdout: 'hello', stderr: 'oops\n' });
});
