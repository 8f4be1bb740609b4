import { execFileSync } from 'node:child_process';

/**
 * The rig's view of a PostgreSQL store, synchronous like its SQLite reader (the rig polls it from
 * plain loops): each read is one `psql` run. While PostgreSQL is down (a scenario restarts it) it
 * reads as empty, as the SQLite reader does before its file exists.
 */
export class PgStoreReader {
  constructor(readonly url: string) {}

  private query(sql: string): string[] {
    try {
      const out = execFileSync('psql', ['-X', '-q', '-A', '-t', '-d', this.url, '-c', sql], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return out.split('\n').filter((line) => line !== '');
    } catch {
      return [];
    }
  }

  count(): number {
    return Number(this.query('SELECT count(*) FROM records')[0] ?? 0);
  }

  allMessages(): string[] {
    return this.query('SELECT msg FROM records');
  }

  close(): void {
    // nothing held between reads
  }
}
