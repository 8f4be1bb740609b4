import type { Logger } from 'pino';
import { errorMessage } from '../protocol/index.js';
import type { Batch } from './batch.js';
import type { PublisherLike } from './publisher.js';
import type { Spool, SpoolPosition } from './spool.js';
import type { Stats } from './stats.js';

export interface DeliveryOptions {
  /** Unconfirmed messages on the channel at most (default 32). */
  window: number;
  /** Sealed batches kept in memory awaiting the channel; past it they go to the spool. */
  memoryBytes: number;
  /** Called with each batch from memory once the broker confirmed it (its buffer is reused). */
  recycle?: (batch: Batch) => void;
}

/**
 * Queued bytes at which inputs that can wait are paused while the broker is connected (back-pressure,
 * as syslog-ng and rsyslog apply through TCP); they resume below half of it. A MiB keeps the
 * channel's window busy; the rest of `memoryBytes` is room for inputs that cannot wait (UDP).
 */
const PAUSE_BYTES = 1024 * 1024;

interface InFlight {
  batch: Batch;
  /** Set when the batch was read from the spool: committing it there once confirmed. */
  spoolEnd: SpoolPosition | undefined;
  confirmed: boolean;
}

/**
 * The order keeper between the batcher, the broker and the disk spool.
 *
 * Invariant: batches in flight are older than those queued in memory, which are older than those
 * not yet read from the spool; so sending in that order keeps every routing key in order. A new
 * batch goes to the spool whenever the spool has unread batches, the broker is away, or memory is
 * full. When the broker goes away, everything in flight or queued is written in front of the
 * spool (prepend), so a SIGKILL during an outage loses nothing already handed over.
 */
export class Delivery {
  private readonly queue: Batch[] = [];
  private queueHead = 0;
  private queueBytes = 0;
  private inflight: InFlight[] = [];
  private inflightHead = 0;
  /** Batches the spool had no room for: the input is paused until they fit. */
  private readonly overflow: Batch[] = [];
  private waitingDrain = false;
  private waiters: (() => void)[] = [];
  private resumeListeners: (() => void)[] = [];
  private wasAccepting = true;
  /** The memory queue is full while the broker is connected: inputs that can wait are paused. */
  private windowFull = false;
  /** `accepting` turned false since inputs were last resumed: they are owed an onResume. */
  private held = false;
  private pumping = false;

  constructor(
    private readonly spool: Spool,
    private readonly publisher: PublisherLike,
    private readonly options: DeliveryOptions,
    private readonly stats: Stats,
    private readonly logger: Logger,
  ) {}

  /**
   * False while inputs that can wait must pause: the spool is full, or the broker is connected and
   * the memory queue is full (back-pressure instead of spooling while the broker is up).
   */
  get accepting(): boolean {
    return this.overflow.length === 0 && !this.windowFull;
  }

  /** True while the spool is full: a lossy input (UDP) drops and counts what it cannot hand over. */
  get spoolFull(): boolean {
    return this.overflow.length > 0;
  }

  /** Below the memory bound, so batches sealed after the pause still fit without spooling. */
  private get pauseBytes(): number {
    return Math.min(PAUSE_BYTES, this.options.memoryBytes / 2);
  }

  /** Messages wait for the channel: the window is full, or batches are queued behind it. */
  get busy(): boolean {
    return (
      this.queue.length > this.queueHead || this.inflight.length - this.inflightHead >= this.options.window
    );
  }

  /** Records waiting for room in the spool (lost if the agent must exit now). */
  get overflowRecords(): number {
    let n = 0;
    for (const batch of this.overflow) n += batch.count;
    return n;
  }

  /** Called each time accepting turns true again. */
  onResume(listener: () => void): void {
    this.resumeListeners.push(listener);
  }

  /** A sealed batch from the batcher. */
  accept(batch: Batch): void {
    if (
      this.publisher.connected &&
      this.overflow.length === 0 &&
      !this.spool.hasUnread() &&
      this.queueBytes + batch.body.length <= this.options.memoryBytes
    ) {
      this.queue.push(batch);
      this.queueBytes += batch.body.length;
      if (this.queueBytes >= this.pauseBytes) {
        this.windowFull = true;
        this.held = true;
      }
      this.pump();
      return;
    }
    this.toSpool(batch);
  }

  onConnect(): void {
    this.stats.state = 'connected';
    this.waitingDrain = false;
    this.pump();
  }

  /** The channel or connection is gone: whatever it had not confirmed goes to the front of the spool. */
  onDisconnect(): void {
    this.stats.state = 'spooling';
    this.waitingDrain = false;
    this.persistMemory();
  }

  onDrain(): void {
    this.waitingDrain = false;
    this.pump();
  }

  /** Writes every unconfirmed batch held in memory to the front of the spool, in order. */
  persistMemory(): void {
    const batches: Batch[] = [];
    for (let i = this.inflightHead; i < this.inflight.length; i++) batches.push(this.inflight[i]!.batch);
    for (let i = this.queueHead; i < this.queue.length; i++) batches.push(this.queue[i]!);
    if (batches.length === 0) return;
    try {
      this.spool.prepend(batches);
    } catch (err) {
      // Kept in memory and sent on reconnect; only a kill during the outage would lose them now.
      this.logger.error({ err }, 'cannot write unconfirmed batches to the spool');
      return;
    }
    let records = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) records += this.queue[i]!.count;
    for (let i = this.inflightHead; i < this.inflight.length; i++) {
      if (this.inflight[i]!.spoolEnd === undefined) records += this.inflight[i]!.batch.count;
    }
    this.stats.spooled += records;
    this.inflight = [];
    this.inflightHead = 0;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queueBytes = 0;
    this.notify();
    this.resumeIfRoom();
  }

  /** Nothing held anywhere: all confirmed (the spool may still hold batches if the broker is away). */
  get idle(): boolean {
    return (
      this.inflight.length === this.inflightHead &&
      this.queue.length === this.queueHead &&
      this.overflow.length === 0
    );
  }

  /** Everything handed over has been confirmed by the broker. */
  get drained(): boolean {
    return this.idle && this.spool.isEmpty();
  }

  /** Resolves at the next confirm, spool write or state change. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Records in memory that a crash now would lose (for the low-water mark of file positions). */
  minVolatileSeq(): number | undefined {
    let min: number | undefined;
    const see = (seq: number): void => {
      if (min === undefined || seq < min) min = seq;
    };
    for (let i = this.inflightHead; i < this.inflight.length; i++) {
      const entry = this.inflight[i]!;
      if (entry.spoolEnd === undefined && !entry.confirmed) see(entry.batch.firstSeq);
    }
    for (let i = this.queueHead; i < this.queue.length; i++) see(this.queue[i]!.firstSeq);
    for (const batch of this.overflow) see(batch.firstSeq);
    return min;
  }

  /** Called when the spool may have room again (after commits or on a timer). */
  retryOverflow(): void {
    while (this.overflow.length > 0) {
      const batch = this.overflow[0]!;
      if (!this.spool.append(batch)) return;
      this.overflow.shift();
      this.stats.spooled += batch.count;
    }
    this.pump();
    this.resumeIfRoom();
  }

  /** Resumes paused inputs once the spool has room and the memory queue has drained below half. */
  private resumeIfRoom(): void {
    if (this.windowFull && this.queueBytes < this.pauseBytes / 2) this.windowFull = false;
    if (!this.accepting || !this.held) return;
    this.held = false;
    if (!this.wasAccepting) {
      this.wasAccepting = true;
      this.logger.info('spool has room again; input resumed');
    }
    for (const listener of this.resumeListeners) listener();
  }

  private toSpool(batch: Batch): void {
    if (this.overflow.length === 0 && this.spool.append(batch)) {
      this.stats.spooled += batch.count;
      this.pump();
      return;
    }
    this.overflow.push(batch);
    this.held = true;
    if (this.wasAccepting) {
      this.wasAccepting = false;
      this.stats.spoolFull++;
      this.logger.warn({ spool: this.spool.dir, bytes: this.spool.usedBytes }, 'spool is full; input paused');
    }
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (
        this.publisher.connected &&
        !this.waitingDrain &&
        this.inflight.length - this.inflightHead < this.options.window
      ) {
        let entry: InFlight;
        if (this.queueHead < this.queue.length) {
          const batch = this.queue[this.queueHead]!;
          this.queue[this.queueHead++] = undefined as unknown as Batch;
          this.queueBytes -= batch.body.length;
          if (this.queueHead === this.queue.length) {
            this.queue.length = 0;
            this.queueHead = 0;
          }
          entry = { batch, spoolEnd: undefined, confirmed: false };
        } else {
          let read: ReturnType<Spool['readNext']>;
          try {
            read = this.spool.readNext();
          } catch (err) {
            // Retried on the next confirm, drain or timer tick; the agent keeps running.
            this.logger.error({ err: errorMessage(err) }, 'cannot read the spool');
            break;
          }
          if (read === undefined) break;
          entry = { batch: read.batch, spoolEnd: read.end, confirmed: false };
        }
        this.inflight.push(entry);
        this.stats.published += entry.batch.count;
        const ok = this.publisher.publish(entry.batch, (confirmed) => this.onConfirm(entry, confirmed));
        if (!ok) {
          this.waitingDrain = true;
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.windowFull) this.resumeIfRoom();
  }

  private onConfirm(entry: InFlight, ok: boolean): void {
    if (!ok) {
      this.publisher.abandon();
      return;
    }
    entry.confirmed = true;
    let commit: SpoolPosition | undefined;
    // Confirms may arrive out of order; the head moves only over a confirmed prefix.
    while (this.inflightHead < this.inflight.length && this.inflight[this.inflightHead]!.confirmed) {
      const done = this.inflight[this.inflightHead]!;
      this.inflight[this.inflightHead++] = undefined as unknown as InFlight;
      this.stats.confirmed += done.batch.count;
      if (done.spoolEnd !== undefined) commit = done.spoolEnd;
      else this.options.recycle?.(done.batch);
    }
    if (this.inflightHead === this.inflight.length) {
      this.inflight = [];
      this.inflightHead = 0;
    }
    if (commit !== undefined) {
      try {
        this.spool.commit(commit);
      } catch (err) {
        // Not deleting a delivered segment only means sending it again after a restart.
        this.logger.warn({ err: errorMessage(err) }, 'cannot delete a delivered spool segment');
      }
      if (this.overflow.length > 0) this.retryOverflow();
    }
    this.pump();
    this.notify();
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
