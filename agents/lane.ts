import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, WarrenError, facilityFromName, makeDirectory } from '../protocol/index.js';

/**
 * One agent's private part of a spool directory. Several agents on a host may share a spool root
 * (`app1 | logship`, `app2 | logship`): each takes the first lane no live process holds, so a
 * restarted agent finds and delivers what a killed one left behind.
 */
export interface Lane {
  readonly dir: string;
  /** Stable for this host and lane: `<host>:<13 base-36 digits>`; the first part of every record id. */
  readonly agentId: string;
  /** Reserves the next block of record sequence numbers and returns its first. */
  reserveSequence(block: number): number;
  release(): void;
}

const MAX_LANES = 64;

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(dir: string): boolean {
  const lock = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8').trim());
      if (holder === process.pid || pidAlive(holder)) return false;
      // A stale lock from a killed agent: take the lane over (and deliver its spool).
      fs.rmSync(lock, { force: true });
    }
  }
  return false;
}

/**
 * 64 random bits in base 36 (13 characters): two agents of one host name collide with odds of
 * 1 in 2^64 per pair, where the 16 bits of the first ids (`<host>:<4 hex>`) made it 1 in 65 536.
 */
export function newAgentId(host: string): string {
  const bits = crypto.randomBytes(8).readBigUInt64BE();
  return `${host}:${bits.toString(36).padStart(13, '0')}`;
}

/** An id written by an older logship: replaced, since its 16 random bits may collide. */
const SHORT_AGENT_ID = /:[0-9a-f]{4}$/;

function readOrCreate(file: string, make: () => string, keep: (value: string) => boolean): string {
  try {
    const value = fs.readFileSync(file, 'utf8').trim();
    if (value !== '' && keep(value)) return value;
  } catch {
    // absent: created below
  }
  const value = make();
  fs.writeFileSync(file, `${value}\n`);
  return value;
}

export function acquireLane(root: string, hostname: string = os.hostname()): Lane {
  try {
    makeDirectory(root);
  } catch (err) {
    throw new WarrenError(
      ErrorCodes.BAD_USAGE,
      `cannot create the spool directory ${root}: ${(err as Error).message}`,
      {
        hint: 'pass --spool DIR with a writable directory',
        cause: err,
      },
    );
  }
  for (let n = 0; n < MAX_LANES; n++) {
    const dir = path.join(root, `lane-${n}`);
    makeDirectory(dir);
    if (!tryLock(dir)) continue;
    const host = facilityFromName(hostname, 'host');
    // Replacing a short id keeps the dedupe of redeliveries: spooled records carry their ids.
    const agentId = readOrCreate(
      path.join(dir, 'agent-id'),
      () => newAgentId(host),
      (value) => !SHORT_AGENT_ID.test(value),
    );
    const seqFile = path.join(dir, 'seq');
    let released = false;
    return {
      dir,
      agentId,
      reserveSequence(block: number): number {
        // Hi/lo: the file holds the first number no run has used; a crash wastes at most a block.
        let next: number;
        try {
          next = Number(fs.readFileSync(seqFile, 'utf8').trim()) || 0;
        } catch {
          next = 0;
        }
        const tmp = `${seqFile}.tmp`;
        fs.writeFileSync(tmp, String(next + block));
        const fd = fs.openSync(tmp, 'r');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        fs.renameSync(tmp, seqFile);
        return next;
      },
      release(): void {
        if (released) return;
        released = true;
        fs.rmSync(path.join(dir, 'lock'), { force: true });
      },
    };
  }
  throw new WarrenError(
    ErrorCodes.SPOOL_FULL,
    `all ${MAX_LANES} lanes of the spool ${root} are held by running agents`,
    {
      hint: 'pass --spool DIR with another directory',
    },
  );
}
