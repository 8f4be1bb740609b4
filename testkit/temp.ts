import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh directory under the system temp dir (`warren-<area>-…`) and how to remove it. */
export function tempDir(area = 'test'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `warren-${area}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
