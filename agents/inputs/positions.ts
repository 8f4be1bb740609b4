import fs from 'node:fs';

/** Where a followed file was read up to: the inode tells a rotated file from the one we read. */
export interface FilePosition {
  dev: number;
  ino: number;
  offset: number;
}

/**
 * A small JSON state file of file positions, keyed by absolute path. Writes re-read the file and
 * replace only this agent's keys, so agents following different files can share it.
 */
export class PositionStore {
  constructor(readonly file: string) {}

  load(): Record<string, FilePosition> {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return {};
      const result: Record<string, FilePosition> = {};
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
        const v = value as Partial<FilePosition> | null;
        if (typeof v?.ino === 'number' && typeof v.offset === 'number' && typeof v.dev === 'number') {
          result[key] = { dev: v.dev, ino: v.ino, offset: v.offset };
        }
      }
      return result;
    } catch {
      return {};
    }
  }

  save(positions: Readonly<Record<string, FilePosition>>): void {
    const merged = { ...this.load(), ...positions };
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(merged, null, 1));
    fs.renameSync(tmp, this.file);
  }
}
