import { ErrorCodes, WarrenError } from '../../protocol/index.js';
import type { Order, Position } from '../store/query.js';

/** What a page cursor carries: where the last page ended, its order, and the snapshot it reads. */
export interface PageCursor {
  order: Order;
  after: Position;
  head: number;
}

const VERSION = 1;

/** Opaque to clients (base64url of a small JSON array) so its layout can change. */
export function encodeCursor(cursor: PageCursor): string {
  const body = [VERSION, cursor.order === 'desc' ? 'd' : 'a', cursor.after.ts, cursor.after.seq, cursor.head];
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(text: string, order: Order): PageCursor {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badCursor(text, 'it is not a cursor this API returned');
  }
  if (!Array.isArray(body) || body.length !== 5 || body[0] !== VERSION) {
    throw badCursor(text, 'it is not a cursor this API returned');
  }
  const [, dir, ts, seq, head] = body as unknown[];
  if (!isInt(ts) || !isInt(seq) || !isInt(head) || (dir !== 'd' && dir !== 'a')) {
    throw badCursor(text, 'it is damaged');
  }
  const cursorOrder: Order = dir === 'd' ? 'desc' : 'asc';
  if (cursorOrder !== order) {
    throw badCursor(text, `it continues an order=${cursorOrder} listing, but order=${order} was asked`);
  }
  return { order, after: { ts, seq }, head };
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function badCursor(text: string, problem: string): WarrenError {
  return new WarrenError(ErrorCodes.BAD_CURSOR, `invalid cursor '${text.slice(0, 64)}': ${problem}`, {
    hint: 'pass the `next` value of the previous answer unchanged, with the same order, or drop cursor to start over',
  });
}
