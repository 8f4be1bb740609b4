import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDirectory } from '../../protocol/index.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('makeDirectory', () => {
  it('makes every missing level, and accepts a directory that exists', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-files-'));
    made.push(root);
    const deep = path.join(root, 'a', 'b', 'c');
    makeDirectory(deep);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    expect(() => makeDirectory(deep)).not.toThrow();
  });

  it('throws where the kernel refuses a directory, where recursive mkdirSync spins forever', () => {
    expect(() => makeDirectory('/proc/warren-test/spool')).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });

  it('throws when a level is a file', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-files-'));
    made.push(root);
    fs.writeFileSync(path.join(root, 'file'), '');
    expect(() => makeDirectory(path.join(root, 'file', 'sub'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }),
    );
  });
});
