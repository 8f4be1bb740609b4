import fs from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { errorMessage } from '../../protocol/index.js';
import { TextPipeline } from '../parse/text.js';
import type { Input, InputContext } from './input.js';
import { PositionStore, type FilePosition } from './positions.js';

export interface FileInputOptions {
  /** Paths or globs (`/var/log/*.log`). */
  patterns: readonly string[];
  /** Read files seen for the first time from the start instead of the end. */
  fromStart: boolean;
  /** State file of positions. */
  stateFile: string;
  /** How often files are checked for growth and rotation (default 200 ms). */
  pollMs?: number;
  /** How often globs are expanded again to find new files (default 2 s). */
  globMs?: number;
}

const READ_CHUNK = 256 * 1024;

interface Checkpoint {
  /** Records logged before this point have sequences below `seq`. */
  seq: number;
  ino: number;
  dev: number;
  offset: number;
}

/**
 * Follows one path like `tail -F`: reads what is appended; when the path is renamed away and
 * re-created it finishes the old file and continues with the new one from its start; when the
 * file shrinks (copytruncate) it starts again from 0.
 */
class Follower {
  private fd: number | undefined;
  private ino = 0;
  private dev = 0;
  private offset = 0;
  private readonly pipeline: TextPipeline;
  private checkpoints: Checkpoint[] = [];
  private durable: FilePosition | undefined;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);
  private missingReported = false;
  /** The rotated file being finished after a restart (its old name now holds a new file). */
  finishing: string | undefined;

  constructor(
    readonly file: string,
    private readonly context: InputContext,
    /** Told where a rotated-away file was finished, so a glob that matches it later does not read it again. */
    private readonly onFinished: (position: FilePosition) => void = () => undefined,
  ) {
    this.pipeline = new TextPipeline(context.text, (record) => context.sink.log(record));
  }

  /** Opens the file at the saved position, its end, or its start. */
  open(saved: FilePosition | undefined, fromStart: boolean, others: readonly string[] = []): void {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch {
      // Not there yet: it is read from its start once it appears.
      return;
    }
    if (!stat.isFile()) return;
    if (saved !== undefined && (saved.ino !== stat.ino || saved.dev !== stat.dev)) {
      // Rotated while we were away: finish the rotated file first; poll() then switches to the new one.
      const rotated = findRotated(this.file, saved, others);
      if (rotated !== undefined) {
        this.fd = fs.openSync(rotated, 'r');
        this.ino = saved.ino;
        this.dev = saved.dev;
        this.offset = saved.offset;
        this.finishing = rotated;
        this.pipeline.reset(this.offset);
        this.mark();
        this.context.logger.info(
          { file: this.file, rotated },
          'file was rotated while stopped; finishing the rotated file first',
        );
        return;
      }
      this.context.logger.warn(
        { file: this.file },
        `file was rotated while logship was stopped and the rotated file (inode ${saved.ino}) is not among the followed or usual rotated names: lines after byte ${saved.offset} of it are not shipped`,
      );
    }
    this.openFd(stat);
    if (
      saved !== undefined &&
      saved.ino === stat.ino &&
      saved.dev === stat.dev &&
      saved.offset <= stat.size
    ) {
      this.offset = saved.offset;
    } else if (saved !== undefined) {
      // A different file under the name: it was rotated while we were away; all of it is new.
      this.offset = 0;
    } else {
      this.offset = fromStart ? 0 : stat.size;
    }
    this.pipeline.reset(this.offset);
    this.mark();
  }

  private openFd(stat: fs.Stats): void {
    this.fd = fs.openSync(this.file, 'r');
    this.ino = stat.ino;
    this.dev = stat.dev;
    this.offset = 0;
    this.missingReported = false;
  }

  /** Reads what is available; returns true if it read anything (poll again soon). */
  poll(): boolean {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(this.file);
    } catch {
      stat = undefined;
    }
    if (this.fd === undefined) {
      if (stat === undefined || !stat.isFile()) {
        if (!this.missingReported)
          this.context.logger.debug({ file: this.file }, 'waiting for the file to appear');
        this.missingReported = true;
        return false;
      }
      this.openFd(stat);
      this.pipeline.reset(0);
    }
    const fd = this.fd!;
    if (stat !== undefined && (stat.ino !== this.ino || stat.dev !== this.dev)) {
      // Renamed away and re-created: finish the old file, then switch.
      const got = this.readAvailable(fd);
      if (got) return true;
      this.pipeline.end();
      this.mark();
      this.onFinished({ dev: this.dev, ino: this.ino, offset: this.offset });
      fs.closeSync(fd);
      this.fd = undefined;
      this.finishing = undefined;
      this.context.logger.info({ file: this.file }, 'file was rotated; following the new one');
      this.openFd(stat);
      this.pipeline.reset(0);
      this.mark();
      return true;
    }
    const size = fs.fstatSync(fd).size;
    if (size < this.offset) {
      // copytruncate: the same file was cut back; what is there now is new.
      this.context.logger.info({ file: this.file }, 'file was truncated; reading it from the start');
      this.pipeline.flushHeld();
      this.offset = 0;
      this.pipeline.reset(0);
    }
    return this.readAvailable(fd);
  }

  private readAvailable(fd: number): boolean {
    let any = false;
    // Bounded work per poll, and none while the spool is full (back-pressure on the file).
    for (let i = 0; i < 16 && this.context.sink.accepting; i++) {
      const n = fs.readSync(fd, this.buf, 0, READ_CHUNK, this.offset);
      if (n === 0) break;
      this.offset += n;
      this.pipeline.push(this.buf.subarray(0, n));
      any = true;
    }
    if (any) this.mark();
    return any;
  }

  /** Notes where a restart could resume once the records logged so far are safe. */
  mark(): void {
    this.checkpoints.push({
      seq: this.context.sink.nextSeq,
      ino: this.ino,
      dev: this.dev,
      offset: this.pipeline.safeOffset,
    });
  }

  /** The latest position whose records are all confirmed or spooled; undefined if none moved. */
  durablePosition(volatileFrom: number | undefined): FilePosition | undefined {
    let keep = 0;
    for (let i = 0; i < this.checkpoints.length; i++) {
      const cp = this.checkpoints[i]!;
      if (volatileFrom !== undefined && cp.seq > volatileFrom) break;
      this.durable = { dev: cp.dev, ino: cp.ino, offset: cp.offset };
      keep = i;
    }
    // Keep the last durable one (to compare against) and everything after it.
    this.checkpoints = this.checkpoints.slice(keep);
    return this.durable;
  }

  stop(): void {
    this.pipeline.flushHeld();
    this.mark();
  }

  close(): void {
    this.pipeline.stop();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * The file a saved position belongs to, by identity (device and inode) with at least the saved
 * offset in it: among the other followed names and the usual rotated names beside it
 * (`app.log.1`, `app.log-20261203`, `app.log.old`; compressed ones cannot be read on).
 */
function findRotated(file: string, saved: FilePosition, others: readonly string[]): string | undefined {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let beside: string[] = [];
  try {
    beside = fs
      .readdirSync(dir)
      .filter((name) => name !== base && name.startsWith(base) && /^[.-]/.test(name.slice(base.length)))
      .filter((name) => !/\.(gz|bz2|xz|zst)$/.test(name))
      .map((name) => path.join(dir, name));
  } catch {
    // an unreadable directory: only the followed names are candidates
  }
  for (const candidate of [...others.filter((other) => other !== file), ...beside]) {
    try {
      const stat = fs.statSync(candidate);
      if (stat.isFile() && stat.ino === saved.ino && stat.dev === saved.dev && stat.size >= saved.offset)
        return candidate;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export function createFileInput(context: InputContext, options: FileInputOptions): Input {
  const store = new PositionStore(options.stateFile);
  const followers = new Map<string, Follower>();
  /** Files finished after a rename (dev:ino → offset): `app.log.1` matched later is not read twice. */
  const finished = new Map<string, number>();
  const onFinished = (position: FilePosition): void => {
    finished.set(`${position.dev}:${position.ino}`, position.offset);
  };
  let pollTimer: NodeJS.Timeout | undefined;
  let globTimer: NodeJS.Timeout | undefined;
  /** What was last written to the state file: an unchanged position is not written again. */
  let lastSaved = '';
  let stopped = false;
  const literal = options.patterns.filter((p) => !isDynamicPattern(p)).map((p) => path.resolve(p));
  const dynamic = options.patterns.filter((p) => isDynamicPattern(p));

  async function expand(initial: boolean): Promise<void> {
    let matches: string[] = [];
    if (dynamic.length > 0) {
      try {
        matches = await glob([...dynamic], { absolute: true, onlyFiles: true, dot: true });
      } catch (err) {
        context.logger.warn({ err: errorMessage(err) }, 'cannot expand file patterns');
      }
    }
    const saved = store.load();
    const all = [...literal, ...matches];
    // Names with a saved position first: one of them may be finishing a rotated file the glob matches.
    const ordered = [
      ...all.filter((f) => saved[f] !== undefined),
      ...all.filter((f) => saved[f] === undefined),
    ];
    for (const file of ordered) {
      if (followers.has(file) || stopped) continue;
      // Being finished under its old name: followed by its own name once that is done.
      if (isBeingFinished(file)) continue;
      const follower = new Follower(file, context, onFinished);
      // A file that appears after start-up is new and read whole, unless it is one we already read
      // under another name (renamed by rotation): then it continues where that one stopped.
      follower.open(saved[file] ?? renamedFrom(file), initial ? options.fromStart : true, all);
      followers.set(file, follower);
      if (fs.existsSync(file)) context.logger.info({ file }, 'following file');
      else context.logger.warn({ file }, 'file does not exist yet; following it once it appears');
    }
  }

  function isBeingFinished(file: string): boolean {
    for (const follower of followers.values()) if (follower.finishing === file) return true;
    return false;
  }

  function renamedFrom(file: string): FilePosition | undefined {
    try {
      const stat = fs.statSync(file);
      const offset = finished.get(`${stat.dev}:${stat.ino}`);
      return offset === undefined ? undefined : { dev: stat.dev, ino: stat.ino, offset };
    } catch {
      return undefined;
    }
  }

  function pollAll(): void {
    pollTimer = undefined;
    if (stopped) return;
    let busy = false;
    for (const follower of followers.values()) {
      try {
        if (follower.poll()) busy = true;
      } catch (err) {
        context.logger.warn({ file: follower.file, err: errorMessage(err) }, 'cannot read file');
      }
    }
    if (!context.sink.accepting) busy = false;
    pollTimer = setTimeout(pollAll, busy ? 0 : (options.pollMs ?? 200));
  }

  function persist(): void {
    const volatileFrom = context.sink.volatileFrom();
    const positions: Record<string, FilePosition> = {};
    for (const [file, follower] of followers) {
      // A held multi-line record may have gone out by its timer since the last read.
      follower.mark();
      const position = follower.durablePosition(volatileFrom);
      if (position !== undefined) positions[file] = position;
    }
    if (Object.keys(positions).length === 0) return;
    const text = JSON.stringify(positions);
    if (text === lastSaved) return;
    try {
      store.save(positions);
      lastSaved = text;
    } catch (err) {
      context.logger.warn({ err: errorMessage(err) }, 'cannot save file positions');
    }
  }

  return {
    name: 'file',
    ended: new Promise<void>(() => undefined),
    async start(): Promise<void> {
      await expand(true);
      context.sink.onResume(() => {
        if (!stopped && pollTimer === undefined) pollTimer = setTimeout(pollAll, 0);
      });
      pollTimer = setTimeout(pollAll, 0);
      if (dynamic.length > 0) {
        globTimer = setInterval(() => {
          expand(false).catch(() => undefined);
        }, options.globMs ?? 2000);
      }
      // Right after each spool fsync: a line safe in the spool but not in the saved position is read
      // again after a SIGKILL and sent twice (a timer of its own, once a second, did that: issue 15).
      context.sink.onSynced(() => {
        if (!stopped) persist();
      });
    },
    stop(): Promise<void> {
      stopped = true;
      if (pollTimer !== undefined) clearTimeout(pollTimer);
      if (globTimer !== undefined) clearInterval(globTimer);
      for (const follower of followers.values()) follower.stop();
      return Promise.resolve();
    },
    persist(): void {
      persist();
      for (const follower of followers.values()) follower.close();
    },
  };
}
