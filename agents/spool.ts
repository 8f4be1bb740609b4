import fs from 'node:fs';
import path from 'node:path';
import { makeDirectory } from '../protocol/index.js';
import type { Batch } from './batch.js';
import { FRAME_HEADER_BYTES as HEADER, decodeFrame, encodeFrame, readFrameHeader } from './spool-frame.js';

/**
 * Append-only disk spool of batches, in segment files delivered oldest first.
 *
 * Just over 400 lines: writing, reading and the cursor share one state (segments, positions), so
 * they stay one class; the on-disk frame format is apart. Each batch is one frame (spool-frame.ts). A torn or corrupt frame (power loss, SIGKILL
 * mid-write) ends its segment; everything before it is still delivered.
 *
 * `cursor.json` holds the floor (segments below it are consumed) and per-segment start offsets,
 * so confirmed frames are not sent again after a restart (and if a cursor write is lost, they
 * are sent again and the collector drops the duplicates by id).
 */
export interface SpoolOptions {
  /** Cap on bytes on disk; append() refuses beyond it. */
  maxBytes: number;
  /** A new segment starts past this size, so consumed ones can be deleted. */
  segmentBytes?: number;
  /** Frames are written and fsync'd once this many bytes are queued or unsynced (else on flush()). */
  syncBytes?: number;
}

export interface SpoolPosition {
  readonly seg: number;
  readonly offset: number;
}

export interface SpoolEntry {
  batch: Batch;
  /** Position just after this frame: commit(end) marks it and everything before as delivered. */
  end: SpoolPosition;
}

interface Segment {
  no: number;
  file: string;
  size: number;
  start: number;
}

interface CursorFile {
  floor: number;
  starts: Record<string, number>;
}

/** Segment numbers start high so that prepend() can always go below the lowest. */
const FIRST_SEGMENT = 1_000_000_000;
const SEGMENT_NAME = /^seg-(\d{12})\.log$/;

function segmentName(no: number): string {
  return `seg-${String(no).padStart(12, '0')}.log`;
}

export class Spool {
  private readonly segments: Segment[] = [];
  private floor: number;
  private writeFd: number | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes written but not yet fsync'd. */
  private unsyncedBytes = 0;
  private readSeg = 0;
  private readOffset = 0;
  private readBuf: Buffer = Buffer.alloc(0);
  private readBufStart = 0;
  private readBufSeg = -1;
  private cursorDirty = false;
  private readonly segmentBytes: number;
  private readonly syncBytes: number;
  /** Smallest record sequence among frames appended but not yet fsync'd. */
  firstUnsyncedSeq = 0;
  /** Why the last write failed, until one succeeds (reported in the agent's log). */
  writeError: string | undefined;
  /** Frames skipped because they were torn or corrupt (reported in stats). */
  corruptFrames = 0;

  private constructor(
    readonly dir: string,
    private readonly options: SpoolOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
    this.syncBytes = options.syncBytes ?? 1024 * 1024;
    const cursor = this.readCursor();
    this.floor = cursor.floor;
    for (const name of fs.readdirSync(dir).sort()) {
      const match = SEGMENT_NAME.exec(name);
      if (match === null) continue;
      const no = Number(match[1]);
      const file = path.join(dir, name);
      if (no < this.floor) {
        fs.rmSync(file, { force: true });
        continue;
      }
      const size = fs.statSync(file).size;
      const start = Math.min(cursor.starts[String(no)] ?? 0, size);
      this.segments.push({ no, file, size, start });
    }
    const first = this.segments[0];
    if (first !== undefined) {
      this.readSeg = first.no;
      this.readOffset = first.start;
    }
  }

  /** Opens (creating) the spool in `dir`; the caller holds the directory's lock. */
  static open(dir: string, options: SpoolOptions): Spool {
    makeDirectory(dir);
    return new Spool(dir, options);
  }

  /** Bytes on disk not yet delivered, plus what waits to be written. */
  get usedBytes(): number {
    let total = this.pendingBytes;
    for (const seg of this.segments) total += seg.size - seg.start;
    return total;
  }

  /** True while some frame has not been handed out by readNext(). */
  hasUnread(): boolean {
    if (this.pendingBytes > 0) return true;
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) return false;
    return this.readSeg < last.no || (this.readSeg === last.no && this.readOffset < last.size);
  }

  hasUnsynced(): boolean {
    return this.pendingBytes > 0 || this.unsyncedBytes > 0;
  }

  /** Nothing on disk or pending at all. */
  isEmpty(): boolean {
    return this.usedBytes === 0;
  }

  /** Queues a batch for the disk; false (and nothing kept) when the size cap would be passed. */
  append(batch: Batch): boolean {
    const frame = encodeFrame(batch);
    if (this.usedBytes + frame.length > this.options.maxBytes) return false;
    // The disk refuses writes (full, read-only): hold a few MiB, then count as full (back-pressure).
    if (this.writeError !== undefined && this.pendingBytes >= this.syncBytes * 8) return false;
    if (!this.hasUnsynced() || batch.firstSeq < this.firstUnsyncedSeq) this.firstUnsyncedSeq = batch.firstSeq;
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes >= this.syncBytes) this.tryFlush();
    return true;
  }

  /** Like flush(), but a failing disk is remembered in `writeError` instead of thrown. */
  tryFlush(): void {
    try {
      this.flush();
    } catch {
      // recorded by flush(); the frames stay pending and are written once the disk takes them
    }
  }

  /** Writes queued frames and fsyncs them: after this they survive SIGKILL and power loss. */
  flush(): void {
    this.write(true);
  }

  /**
   * Writes queued frames; fsyncs when `sync` is set or enough is unsynced. A written frame
   * already survives SIGKILL (it is in the page cache); fsync is for power loss, so reading
   * back what was just queued needs the write, not the sync.
   */
  private write(sync: boolean): void {
    if (this.pendingBytes === 0) {
      if (sync) this.sync();
      return;
    }
    let seg = this.segments[this.segments.length - 1];
    if (this.writeFd === undefined || seg === undefined || seg.size >= this.segmentBytes) {
      this.sync();
      this.closeWriter();
      const no = seg === undefined ? Math.max(this.floor, FIRST_SEGMENT) : seg.no + 1;
      seg = { no, file: path.join(this.dir, segmentName(no)), size: 0, start: 0 };
      // A fresh segment per process: never append after a torn frame an earlier run left behind.
      this.writeFd = fs.openSync(seg.file, 'a');
      this.segments.push(seg);
      if (this.segments.length === 1) {
        this.readSeg = seg.no;
        this.readOffset = 0;
        // The read window may hold an older segment's bytes at the same offsets: never serve them as this one's.
        this.readBuf = Buffer.alloc(0);
      }
    }
    const data =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    try {
      let written = 0;
      while (written < data.length) written += fs.writeSync(this.writeFd, data, written);
    } catch (err) {
      // Cut back to the last whole frame, so a later successful write does not follow a torn one.
      try {
        fs.ftruncateSync(this.writeFd, seg.size);
      } catch {
        // the writer is reopened on the next flush either way
      }
      this.writeError = err instanceof Error ? err.message : String(err);
      throw err;
    }
    this.writeError = undefined;
    seg.size += data.length;
    this.pending = [];
    this.pendingBytes = 0;
    this.unsyncedBytes += data.length;
    if (sync || this.unsyncedBytes >= this.syncBytes) this.sync();
  }

  /** fsyncs what was written; after this it survives power loss too. */
  private sync(): void {
    if (this.unsyncedBytes === 0) return;
    if (this.writeFd !== undefined) {
      try {
        fs.fdatasyncSync(this.writeFd);
      } catch (err) {
        this.writeError = err instanceof Error ? err.message : String(err);
        throw err;
      }
    }
    this.unsyncedBytes = 0;
  }

  /** Writes what is queued without waiting for fsync (for reading it back); errors are remembered. */
  private tryWrite(): void {
    try {
      this.write(false);
    } catch {
      // recorded in writeError; the frames stay pending
    }
  }

  /** The next undelivered batch, oldest first; undefined when all have been handed out. */
  readNext(): SpoolEntry | undefined {
    for (;;) {
      const seg = this.segments.find((s) => s.no >= this.readSeg);
      if (seg === undefined) {
        if (this.pendingBytes === 0) return undefined;
        this.tryWrite();
        if (this.pendingBytes > 0) return undefined;
        continue;
      }
      if (seg.no !== this.readSeg) {
        this.readSeg = seg.no;
        this.readOffset = seg.start;
        this.readBuf = Buffer.alloc(0);
      }
      const entry = this.readFrame(seg);
      if (entry !== undefined) return entry;
      const isLast = seg === this.segments[this.segments.length - 1];
      if (isLast) {
        if (this.pendingBytes === 0) return undefined;
        this.tryWrite();
        if (this.pendingBytes > 0) return undefined;
        continue;
      }
      // Past the end (or a torn tail) of an older segment: move on to the next one's start.
      const next = this.segments[this.segments.indexOf(seg) + 1]!;
      this.readSeg = next.no;
      this.readOffset = next.start;
      this.readBuf = Buffer.alloc(0);
    }
  }

  private readFrame(seg: Segment): SpoolEntry | undefined {
    const remaining = seg.size - this.readOffset;
    if (remaining <= 0) return undefined;
    // Frames are written whole and synchronously, so a short one is a torn tail from a killed run.
    if (remaining < HEADER) {
      this.skipRest(seg);
      return undefined;
    }
    const { length, crc } = readFrameHeader(this.bytesAt(seg, this.readOffset, HEADER));
    if (HEADER + length > remaining) {
      this.skipRest(seg);
      return undefined;
    }
    const batch = decodeFrame(this.bytesAt(seg, this.readOffset + HEADER, length), crc);
    if (batch === undefined) {
      this.skipRest(seg);
      return undefined;
    }
    this.readOffset += HEADER + length;
    return { batch, end: { seg: seg.no, offset: this.readOffset } };
  }

  private skipRest(seg: Segment): void {
    this.corruptFrames++;
    this.readOffset = seg.size;
  }

  /** Reads through a 1 MiB window so the spool streams instead of loading segments whole. */
  private bytesAt(seg: Segment, offset: number, length: number): Buffer {
    const inBuf = offset - this.readBufStart;
    // Keyed by segment too: a new segment reuses the offsets of a deleted one.
    if (seg.no === this.readBufSeg && inBuf >= 0 && inBuf + length <= this.readBuf.length) {
      return this.readBuf.subarray(inBuf, inBuf + length);
    }
    const size = Math.min(Math.max(length, 1024 * 1024), seg.size - offset);
    const buf = Buffer.allocUnsafe(size);
    const fd = fs.openSync(seg.file, 'r');
    try {
      let got = 0;
      while (got < size) {
        const n = fs.readSync(fd, buf, got, size - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      this.readBuf = buf.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
    this.readBufStart = offset;
    this.readBufSeg = seg.no;
    return this.readBuf.subarray(0, length);
  }

  /** Marks everything up to `pos` delivered; consumed segments are deleted. */
  commit(pos: SpoolPosition): void {
    while (this.segments.length > 0 && this.segments[0]!.no < pos.seg) this.dropFirst();
    const seg = this.segments[0];
    if (seg === undefined || seg.no !== pos.seg) return;
    seg.start = Math.max(seg.start, pos.offset);
    const isLast = this.segments.length === 1;
    if (seg.start >= seg.size && (!isLast || seg.size >= this.segmentBytes || this.pendingBytes === 0)) {
      // Fully delivered: delete it (the writer starts a new segment on its next flush).
      this.dropFirst();
    }
    this.cursorDirty = true;
  }

  /**
   * Puts batches in front of everything not yet read (they are older: in flight or queued in
   * memory when the broker went away), and forgets what was read but not committed, because
   * those batches are among the ones given here.
   */
  prepend(batches: readonly Batch[]): void {
    if (batches.length === 0) return;
    const lowest = this.segments[0]?.no ?? FIRST_SEGMENT;
    const no = Math.min(lowest, this.readSeg || lowest) - 1;
    const file = path.join(this.dir, segmentName(no));
    const data = Buffer.concat(batches.map(encodeFrame));
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, data);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // Everything before the read position was in flight and is now in the new segment.
    while (this.segments.length > 0 && this.segments[0]!.no < this.readSeg) this.dropFirst();
    const current = this.segments[0];
    if (current !== undefined && current.no === this.readSeg) current.start = this.readOffset;
    this.segments.unshift({ no, file, size: data.length, start: 0 });
    this.floor = no;
    this.readSeg = no;
    this.readOffset = 0;
    this.readBuf = Buffer.alloc(0);
    this.writeCursor(true);
  }

  /** Saves the delivered position if it moved (cheap enough to call on a timer). */
  saveCursor(): void {
    if (this.cursorDirty) this.writeCursor(false);
  }

  close(): void {
    this.flush();
    this.closeWriter();
    this.writeCursor(true);
  }

  private dropFirst(): void {
    const seg = this.segments.shift();
    if (seg === undefined) return;
    // The writer always appends to the last segment; dropping the only one closes it.
    if (this.segments.length === 0) this.closeWriter();
    fs.rmSync(seg.file, { force: true });
    this.floor = Math.max(this.floor, seg.no + 1);
    this.cursorDirty = true;
  }

  /** Callers sync first, or the segment is deleted: nothing written stays unsynced. */
  private closeWriter(): void {
    if (this.writeFd !== undefined) fs.closeSync(this.writeFd);
    this.writeFd = undefined;
    this.unsyncedBytes = 0;
  }

  private readCursor(): CursorFile {
    try {
      const parsed = JSON.parse(
        fs.readFileSync(path.join(this.dir, 'cursor.json'), 'utf8'),
      ) as Partial<CursorFile>;
      return {
        floor: typeof parsed.floor === 'number' ? parsed.floor : 0,
        starts: typeof parsed.starts === 'object' && parsed.starts !== null ? parsed.starts : {},
      };
    } catch {
      return { floor: 0, starts: {} };
    }
  }

  private writeCursor(durable: boolean): void {
    const starts: Record<string, number> = {};
    for (const seg of this.segments) if (seg.start > 0) starts[String(seg.no)] = seg.start;
    const file = path.join(this.dir, 'cursor.json');
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ floor: this.floor, starts }));
    if (durable) {
      const fd = fs.openSync(tmp, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    this.cursorDirty = false;
  }
}
