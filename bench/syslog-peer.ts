import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cpuSeconds } from './lib/cpu.js';
import { connectSyslog, sendChunks } from './lib/syslog-sender.js';
import { startSyslogNg } from '../testkit/foreign.js';
import { freePort } from '../testkit/net.js';
import { peakRssMb } from '../testkit/processes.js';
import { waitUntil } from '../testkit/wait.js';

/**
 * Issue 15's fastest peer, run on the same lines in the same bench run as Warren's burst (this
 * machine's noise moves one burst by ±10%, so a figure measured on another day is no yardstick):
 * syslog-ng's TCP network() source with flow control (the sender is slowed, nothing dropped) into
 * its sql() destination on SQLite: its four default indexes (date, facility, host, program), no
 * full-text index, commits of 5,000 lines, WAL, synchronous=FULL (every commit fsynced, as Warren's).
 */
const BATCH_LINES = 5_000;
const STALL_MS = 30_000;
const TABLE = 'messages';

function peerConfig(dir: string, port: number): string {
  return `@version: 3.38
options { keep-hostname(yes); stats-freq(0); log-fifo-size(200000); };
# The window is shared by max-connections: 20,000 lines each, above a commit's 5,000 (a window
# below the batch stalls every commit until batch-timeout).
source s_bench { network(ip("127.0.0.1") port(${port}) transport("tcp") log-iw-size(200000) max-connections(10)); };
destination d_sqlite {
  sql(type(sqlite3) database("peer.db") host("") username("") password("")
      dbd-option("sqlite3_dbdir" "${dir}")
      table("${TABLE}")
      columns("date", "facility", "level", "host", "program", "pid", "message")
      values("\${ISODATE}", "\${FACILITY}", "\${LEVEL}", "\${HOST}", "\${PROGRAM}", "\${PID}", "\${MSGONLY}")
      indexes("date", "facility", "host", "program")
      flags(explicit-commits) batch-lines(${BATCH_LINES}) batch-timeout(100)
      session-statements("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"));
};
log { source(s_bench); destination(d_sqlite); flags(flow-control); };
`;
}

export interface PeerBurst {
  /** Seconds until the sender had written every line, and until every row was committed. */
  sentS: number;
  storedS: number;
  cpuPer100k: number;
  peakRssMb: number | null;
}

/** syslog-ng's table as a reader sees it: 0 rows until its file and table exist. */
function committedRows(file: string): { highest: () => number; count: () => number; close: () => void } {
  let db: Database.Database | undefined;
  const ask = (sql: string): number => {
    try {
      db ??= new Database(file, { readonly: true, fileMustExist: true });
      return db.prepare(sql).pluck().get() as number;
    } catch {
      return 0;
    }
  };
  return {
    // O(1), polled; count(*) walks the table, asked once at the end.
    highest: () => ask(`SELECT coalesce(max(rowid), 0) FROM ${TABLE}`),
    count: () => ask(`SELECT count(*) FROM ${TABLE}`),
    close: () => db?.close(),
  };
}

/** One burst of `chunks` (newline-framed lines) over one TCP connection into a fresh syslog-ng and store. */
export async function syslogNgSqliteBurst(chunks: readonly string[], count: number): Promise<PeerBurst> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warren-bench-peer-'));
  const port = await freePort();
  const syslogNg = await startSyslogNg(dir, peerConfig(dir, port), port);
  const committed = committedRows(path.join(dir, 'peer.db'));
  try {
    const socket = await connectSyslog(port);
    const before = cpuSeconds(syslogNg.pid) ?? 0;
    const started = performance.now();
    let sentAt = Number.NaN;
    // Sent while the rows are watched: with flow control a syslog-ng that stopped committing also
    // stops reading, and a send awaited first would wait forever.
    const sending = sendChunks(socket, chunks).then(() => (sentAt = performance.now()));
    // A syslog-ng that stops committing (an SQL error it retries, a missing driver) says why on
    // stderr: give up after STALL_MS without a new row rather than wait out the whole timeout.
    let seen = 0;
    let progressAt = Date.now();
    try {
      await waitUntil(
        'every line committed by syslog-ng',
        () => {
          const highest = committed.highest();
          if (highest > seen) [seen, progressAt] = [highest, Date.now()];
          else if (Date.now() - progressAt > STALL_MS)
            throw new Error(
              `syslog-ng committed no row for ${STALL_MS / 1000} s (${seen} of ${count}); it said:\n${syslogNg.output().slice(-2000)}`,
            );
          return highest >= count;
        },
        600_000,
        20,
      );
    } catch (err) {
      // The send may wait for a 'drain' that never comes: it is left behind with the socket.
      socket.destroy();
      void sending.catch(() => undefined);
      throw err;
    }
    await sending;
    const storedS = (performance.now() - started) / 1000;
    const cpu = (cpuSeconds(syslogNg.pid) ?? before) - before;
    const peak = peakRssMb(syslogNg.pid);
    const rows = committed.count();
    // The issue compared systems in which every line arrived exactly once: a peer that lost or
    // doubled lines would be measuring something else.
    if (rows !== count)
      throw new Error(`syslog-ng stored ${rows} rows of ${count} lines: not a comparable run`);
    socket.end();
    return {
      sentS: (sentAt - started) / 1000,
      storedS,
      cpuPer100k: cpu / (count / 100_000),
      peakRssMb: peak,
    };
  } finally {
    committed.close();
    await syslogNg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
