import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ErrorCodes, WarrenError } from '../../protocol/index.js';
import type { QueryStore, ReadMethod, SyncQueryStore } from './query.js';
import { deserializeError, type ReadReply, type ReadRequest } from './read-protocol.js';
import { openQueryStore, type QueryStoreOptions } from './sqlite-query-store.js';

/**
 * The API's reads, off the thread that ingests (issue 14 item 7): reader processes, each with its
 * own read-only connection, in two lanes so a flood of heavy queries never starves the live
 * streams. Each read has a deadline: past it its reader is SIGKILLed (the query really stops) and
 * replaced, and the caller gets WARREN_QUERY_TIMEOUT. Heavy reads queue for a reader up to a cap;
 * beyond it the API answers 503 WARREN_QUERY_BUSY. Readers run at a lower CPU priority than ingest.
 */

export interface ReadPoolOptions {
  readonly dbPath: string;
  /** Reader processes for pages and counts; 0 reads on the calling thread (small stores, tests). */
  readonly workers: number;
  /** A read's deadline, in milliseconds. */
  readonly timeoutMs: number;
  /** Heavy reads that may wait for a reader; one more is refused as busy. */
  readonly maxWaiting: number;
  readonly logger: Logger;
  readonly store?: QueryStoreOptions;
}

/** The cheap reads of the live streams and probes, apart from pages and counts. */
const STREAM_METHODS: ReadonlySet<ReadMethod> = new Set(['streamBatch', 'countBetween', 'head', 'facts']);

/** Niceness of reader processes: the lowest, so ingest (0) wins the CPU whenever both want it. */
const READER_NICENESS = 19;

/** A reader idle this long exits (an idle API costs no process); the next read starts another. */
const READER_IDLE_MS = 60_000;

interface Task {
  readonly method: ReadMethod;
  readonly args: readonly unknown[];
  resolve(value: unknown): void;
  reject(err: Error): void;
}

function readerScript(): string {
  const sibling = fileURLToPath(new URL('./reader-process.js', import.meta.url));
  // Run from the TypeScript sources (tests), the reader is the built one.
  return existsSync(sibling)
    ? sibling
    : fileURLToPath(new URL('../../dist/collector/store/reader-process.js', import.meta.url));
}

/** One reader process, running one read at a time. */
class Reader {
  private child: ChildProcess | null = null;
  /** The child has loaded (a cold start under load takes a second; it is not the query's time). */
  private ready = false;
  private task: Task | null = null;
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 1;

  constructor(
    private readonly options: ReadPoolOptions,
    private readonly lane: string,
    private readonly onIdle: () => void,
  ) {}

  get idle(): boolean {
    return this.task === null;
  }

  run(task: Task): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.task = task;
    const child = this.child ?? this.spawn();
    if (this.ready) this.send(child, task);
  }

  private send(child: ChildProcess, task: Task): void {
    const request: ReadRequest = { id: this.nextId++, method: task.method, args: task.args };
    this.timer = setTimeout(() => this.expire(), this.options.timeoutMs);
    child.send(request);
  }

  close(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.child?.kill('SIGKILL');
    this.child = null;
    this.finish()?.reject(new WarrenError(ErrorCodes.STORE_UNAVAILABLE, 'the API is closing'));
  }

  private spawn(): ChildProcess {
    const child = fork(readerScript(), [this.options.dbPath, JSON.stringify(this.options.store ?? {})], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [],
    });
    try {
      if (child.pid !== undefined) setPriority(child.pid, READER_NICENESS);
    } catch {
      // Not allowed here: readers then share the CPU evenly, as threads would.
    }
    this.ready = false;
    child.on('message', (reply: ReadReply) => {
      if ('ready' in reply) {
        this.ready = true;
        if (this.task !== null && this.child === child) this.send(child, this.task);
        return;
      }
      const task = this.finish();
      if (task === null) return;
      if (reply.ok) task.resolve(reply.value);
      else task.reject(deserializeError(reply.error));
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      const task = this.finish();
      if (task === null) return;
      this.options.logger.error({ lane: this.lane, code, signal }, 'a store reader died; starting another');
      task.reject(
        new WarrenError(ErrorCodes.STORE_UNAVAILABLE, 'the store reader answering this request died', {
          hint: 'retry; the collector log says why',
        }),
      );
    });
    this.child = child;
    return child;
  }

  /** Past the deadline: the query is stopped for real, and the next read gets a fresh reader. */
  private expire(): void {
    const task = this.finish();
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
    if (task === null) return;
    const ms = this.options.timeoutMs;
    const limit = ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
    this.options.logger.warn(
      { lane: this.lane, method: task.method, timeoutMs: this.options.timeoutMs },
      'a query ran past its deadline; its reader was stopped',
    );
    task.reject(
      new WarrenError(ErrorCodes.QUERY_TIMEOUT, `the query ran longer than ${limit} and was stopped`, {
        hint: 'narrow it: a shorter since/until window, a pattern, a host, or more specific words; or raise --query-timeout',
      }),
    );
  }

  private finish(): Task | null {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const task = this.task;
    this.task = null;
    if (task !== null) {
      setImmediate(this.onIdle);
      this.idleTimer = setTimeout(() => this.retire(), READER_IDLE_MS);
      this.idleTimer.unref();
    }
    return task;
  }

  private retire(): void {
    this.idleTimer = null;
    if (this.task !== null) return;
    const child = this.child;
    this.child = null;
    child?.disconnect();
  }
}

/** Readers and the reads waiting for one. */
class Lane {
  private readonly readers: Reader[];
  private readonly waiting: Task[] = [];

  constructor(
    private readonly name: string,
    size: number,
    private readonly maxWaiting: number,
    options: ReadPoolOptions,
  ) {
    this.readers = Array.from({ length: size }, () => new Reader(options, name, () => this.dispatch()));
  }

  submit(task: Task): void {
    if (this.waiting.length >= this.maxWaiting && !this.readers.some((r) => r.idle)) {
      task.reject(
        new WarrenError(ErrorCodes.QUERY_BUSY, `too many queries are running or waiting (${this.name})`, {
          hint: 'retry after a moment (Retry-After), or narrow the queries that take long',
        }),
      );
      return;
    }
    this.waiting.push(task);
    this.dispatch();
  }

  close(): void {
    for (const task of this.waiting.splice(0)) {
      task.reject(new WarrenError(ErrorCodes.STORE_UNAVAILABLE, 'the API is closing'));
    }
    for (const reader of this.readers) reader.close();
  }

  private dispatch(): void {
    for (const reader of this.readers) {
      if (this.waiting.length === 0) return;
      if (reader.idle) reader.run(this.waiting.shift() as Task);
    }
  }
}

/** Every read of a synchronous store as a promise, on the calling thread. */
export function inlineQueryStore(store: SyncQueryStore): QueryStore {
  const call =
    <M extends keyof SyncQueryStore>(method: M) =>
    (...args: Parameters<SyncQueryStore[M]>): Promise<ReturnType<SyncQueryStore[M]>> => {
      try {
        const fn = store[method] as (...a: Parameters<SyncQueryStore[M]>) => ReturnType<SyncQueryStore[M]>;
        return Promise.resolve(fn.apply(store, args));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
  return {
    page: call('page'),
    streamBatch: call('streamBatch'),
    countBetween: call('countBetween'),
    head: call('head'),
    countsByKey: call('countsByKey'),
    volume: call('volume'),
    top: call('top'),
    context: call('context'),
    facts: call('facts'),
    close: call('close'),
  };
}

/** The API's QueryStore over a SQLite file: reader processes, or the calling thread with workers 0. */
export function openReadPool(options: ReadPoolOptions): QueryStore {
  if (options.workers === 0) return inlineQueryStore(openQueryStore(options.dbPath, options.store));
  // Fail at start, in the caller, if the store cannot be read at all.
  openQueryStore(options.dbPath, options.store).close();
  const heavy = new Lane('pages and counts', options.workers, options.maxWaiting, options);
  const stream = new Lane('live streams', 1, Number.MAX_SAFE_INTEGER, options);
  const read =
    <M extends ReadMethod>(method: M) =>
    (...args: Parameters<SyncQueryStore[M]>): Promise<ReturnType<SyncQueryStore[M]>> =>
      new Promise((resolve, reject) => {
        (STREAM_METHODS.has(method) ? stream : heavy).submit({
          method,
          args,
          resolve,
          reject,
        });
      });
  return {
    page: read('page'),
    streamBatch: read('streamBatch'),
    countBetween: read('countBetween'),
    head: read('head'),
    countsByKey: read('countsByKey'),
    volume: read('volume'),
    top: read('top'),
    context: read('context'),
    facts: read('facts'),
    close: () => {
      heavy.close();
      stream.close();
      return Promise.resolve();
    },
  };
}
