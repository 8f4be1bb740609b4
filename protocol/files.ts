import fs from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p` that fails instead of spinning: Node 20's recursive mkdirSync loops forever at full
 * CPU where the kernel answers ENOENT under an existing parent (a path under /proc or /sys), so
 * each level is made on its own and the first refusal is thrown.
 */
export function makeDirectory(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) makeDirectory(parent);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
