/**
 * A reader process of the read pool (read-pool.ts): one read-only SQLite connection answering
 * the API's reads sent over IPC. A process, not a worker thread, because a query past its
 * deadline must really stop: SQLite runs a statement inside one native call that a thread's
 * terminate() cannot interrupt (it waited 40 s for one here), while SIGKILL ends it at once.
 */
import { openQueryStore, type QueryStoreOptions } from './sqlite-query-store.js';
import type { SyncQueryStore } from './query.js';
import { serializeError, type ReadReply, type ReadRequest } from './read-protocol.js';

const dbPath = process.argv[2];
const options = JSON.parse(process.argv[3] ?? '{}') as QueryStoreOptions;
if (dbPath === undefined || process.send === undefined) {
  process.stderr.write('reader-process: started without a store path or an IPC channel\n');
  process.exit(2);
}

let store: SyncQueryStore | null = null;

function answer(request: ReadRequest): ReadReply {
  try {
    store ??= openQueryStore(dbPath ?? '', options);
    // The store's methods are closures (sqlite-query-store.ts): calling one apart from it is safe.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const method = store[request.method] as (...args: readonly unknown[]) => unknown;
    return { id: request.id, ok: true, value: method(...request.args) };
  } catch (err) {
    return { id: request.id, ok: false, error: serializeError(err) };
  }
}

process.on('message', (request: ReadRequest) => {
  process.send?.(answer(request));
});
process.send({ ready: true } satisfies ReadReply);
// The collector went away: so does its reader.
process.on('disconnect', () => {
  store?.close();
  process.exit(0);
});
