import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { QueryStore, RecordFilter } from '../store/query.js';

/**
 * The live stream: every client reads the store itself from the seq it last sent, so a stream never
 * buffers records in memory, a reconnect with Last-Event-ID resumes exactly, and a slow client only
 * falls behind — until it is too far behind, when it is told how many it skipped (`event: dropped`).
 */

export interface StreamOptions {
  /** Comment line every this many ms so proxies and clients see the connection alive (default 15 s). */
  heartbeatMs: number;
  /** Safety net: re-check the store this often even without a 'stored' event (default 1 s). */
  pollMs: number;
  /** Records read from the store per batch (default 500). */
  batchSize: number;
  /** A client whose socket was full and is more than this many stored records behind skips ahead (default 100,000). */
  maxLag: number;
  /** Concurrent streams (default 100). */
  maxStreams: number;
  /** A client whose socket takes nothing for this long is disconnected; it can resume (default 60 s). */
  stallMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = Object.freeze({
  heartbeatMs: 15_000,
  pollMs: 1_000,
  batchSize: 500,
  maxLag: 100_000,
  maxStreams: 100,
  stallMs: 60_000,
});

export interface StreamMetrics {
  sent(count: number): void;
  dropped(count: number): void;
}

interface Client {
  filter: RecordFilter;
  last: number;
  res: ServerResponse;
  /** Waiting for 'drain': nothing is written until the socket takes more. */
  blocked: boolean;
  /** The socket was full since the last lag check. */
  stalled: boolean;
  /** When the socket last filled up (ms), while blocked. */
  blockedAt: number;
  closed: boolean;
  /** A pump is reading the store for it (reads are async): one at a time, in order. */
  pumping: boolean;
  /** Asked to pump while one ran: run once more after it. */
  again: boolean;
}

/** How many batches one client may send before yielding to the event loop. */
const BATCHES_PER_TURN = 8;

export class StreamHub {
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly poll: NodeJS.Timeout;
  private scheduled = false;

  constructor(
    private readonly store: QueryStore,
    private readonly options: StreamOptions,
    private readonly logger: Logger,
    private readonly metrics: StreamMetrics,
  ) {
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
    this.poll = setInterval(() => this.notify(), options.pollMs);
    this.poll.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.options.maxStreams;
  }

  /** Starts streaming to an already hijacked response, after `after` (a seq). */
  open(
    res: ServerResponse,
    filter: RecordFilter,
    after: number,
    reset?: { requested: number; head: number },
  ): void {
    const client: Client = {
      filter,
      last: after,
      res,
      blocked: false,
      stalled: false,
      blockedAt: 0,
      closed: false,
      pumping: false,
      again: false,
    };
    this.clients.add(client);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream and defeat the point
      'x-accel-buffering': 'no',
    });
    // The first line tells the client where the stream starts, even when nothing matches for a while.
    res.write(`retry: 2000\nid: ${after}\n: stream open after ${after}\n\n`);
    if (reset !== undefined) res.write(`event: reset\nid: ${after}\ndata: ${JSON.stringify(reset)}\n\n`);
    const finish = (): void => {
      client.closed = true;
      this.clients.delete(client);
    };
    res.on('close', finish);
    res.on('error', finish);
    res.on('drain', () => {
      client.blocked = false;
      this.pump(client);
    });
    this.pump(client);
  }

  /**
   * A batch was committed: every client reads what is new for it — on the next turn of the event
   * loop, so the collector's commit-then-ack path never waits on streams, and bursts coalesce.
   */
  notify(): void {
    if (this.scheduled || this.clients.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const client of this.clients) this.pump(client);
    });
  }

  close(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.poll);
    for (const client of this.clients) {
      client.closed = true;
      client.res.end();
    }
    this.clients.clear();
  }

  private beat(): void {
    const now = Date.now();
    for (const client of this.clients) {
      if (client.closed) continue;
      if (!client.blocked) {
        this.write(client, ': keepalive\n\n');
      } else if (now - client.blockedAt > this.options.stallMs) {
        // Nothing can be written to tell it; it resumes with Last-Event-ID when it reconnects.
        this.logger.warn({ last: client.last }, 'live stream client took nothing for too long; disconnected');
        client.closed = true;
        this.clients.delete(client);
        client.res.destroy();
      }
    }
  }

  private write(client: Client, chunk: string): boolean {
    const ok = client.res.write(chunk);
    if (!ok) {
      client.blocked = true;
      client.stalled = true;
      client.blockedAt = Date.now();
    }
    return ok;
  }

  private pump(client: Client): void {
    if (client.closed || client.blocked) return;
    if (client.pumping) {
      client.again = true;
      return;
    }
    client.pumping = true;
    void this.drainStore(client).finally(() => {
      client.pumping = false;
      if (client.again) {
        client.again = false;
        this.pump(client);
      }
    });
  }

  /** Sends the client what the store holds for it, batch by batch, until it is up to date or full. */
  private async drainStore(client: Client): Promise<void> {
    try {
      if (client.stalled) {
        client.stalled = false;
        await this.skipIfTooFarBehind(client);
      }
      for (let turn = 0; ; turn++) {
        if (client.closed || client.blocked) return;
        const batch = await this.store.streamBatch(client.filter, client.last, this.options.batchSize);
        if (client.closed) return;
        if (batch.head < client.last) {
          // The newest records were deleted (retention) and their seqs reused, or the store was
          // replaced: positions no longer line up, so say so and follow from the newest.
          this.write(
            client,
            `event: reset\nid: ${batch.head}\ndata: ${JSON.stringify({ requested: client.last, head: batch.head })}\n\n`,
          );
          client.last = batch.head;
          continue;
        }
        let chunk = '';
        for (const { record, seq } of batch.records)
          chunk += `id: ${seq}\ndata: ${JSON.stringify(record)}\n\n`;
        client.last = batch.through;
        if (chunk !== '') {
          this.metrics.sent(batch.records.length);
          if (!this.write(client, chunk)) return;
        }
        if (!batch.more) return;
        // A long backlog: let other clients and requests run between turns.
        if (turn % BATCHES_PER_TURN === BATCHES_PER_TURN - 1) await new Promise(setImmediate);
      }
    } catch (err) {
      if (client.closed) return;
      this.logger.error({ err }, 'live stream failed; closing it');
      client.closed = true;
      this.clients.delete(client);
      client.res.end(
        `event: error\ndata: ${JSON.stringify({ message: 'the stream failed; reconnect to resume' })}\n\n`,
      );
    }
  }

  /** After a full socket drains: too far behind means skip to now and say how much was skipped. */
  private async skipIfTooFarBehind(client: Client): Promise<void> {
    const head = await this.store.head();
    if (head - client.last <= this.options.maxLag) return;
    const count = await this.store.countBetween(client.filter, client.last, head);
    const from = client.last;
    client.last = head;
    this.metrics.dropped(count);
    this.logger.warn({ count, from, to: head }, 'live stream client too slow; skipped records');
    this.write(client, `event: dropped\nid: ${head}\ndata: ${JSON.stringify({ count, from, to: head })}\n\n`);
  }
}
