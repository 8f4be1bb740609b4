import type Database from 'better-sqlite3';
import { isPlainObject, severityFromRank, type StoredRecord } from '../../protocol/index.js';
import { RECORD_ID_SQL } from './message-runs.js';
import type { PositionedRecord } from './query.js';
import type { RoutingKeys } from './routing-keys.js';

/** A records row as the read queries select it (COLUMNS). */
export interface Row {
  seq: number;
  id: string | null;
  ts: number;
  key_id: number;
  facility: string;
  severity: number;
  host: string | null;
  app: string | null;
  pid: number | null;
  msg: string;
  fields: string | null;
}

/** The columns of a `records r` row as Row names them, the id read by `idSql`. */
const columnsWithId = (idSql: string): string =>
  `r.seq, ${idSql} AS id, r.ts, r.key_id, r.facility, r.severity, r.host, r.app, r.pid, r.msg, r.fields`;

export const COLUMNS = columnsWithId(RECORD_ID_SQL);

/** COLUMNS for a file read without migrating it (`logcollect migrate`): before v6 every id is in its row. */
export function columnsOf(db: Database.Database): string {
  const runs = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").get();
  return runs === undefined ? columnsWithId('r.id') : COLUMNS;
}

/** A row back into the record the collector stored, with its place for cursors. */
export function toPositioned(row: Row, keys: Pick<RoutingKeys, 'name'>): PositionedRecord {
  const record: StoredRecord = {
    id: row.id,
    ts: new Date(row.ts).toISOString(),
    facility: row.facility,
    severity: severityFromRank(row.severity) ?? 'notice',
    msg: row.msg,
    routing_key: keys.name(row.key_id),
  };
  if (row.host !== null) record.host = row.host;
  if (row.app !== null) record.app = row.app;
  if (row.pid !== null) record.pid = row.pid;
  if (row.fields !== null) {
    const fields = parseFields(row.fields);
    if (fields !== undefined) record.fields = fields;
  }
  return { record, ts: row.ts, seq: row.seq };
}

function parseFields(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : { value };
  } catch {
    return undefined;
  }
}
