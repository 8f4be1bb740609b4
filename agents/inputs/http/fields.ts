import { truncationMarker } from '../../parse/line.js';
import type { ParsedRecord } from '../../record.js';

/**
 * Attribute maps as record fields: dotted keys (`http.status_code`, ECS's `log.level`) become nested
 * objects, so the query language's `http.status_code:500` finds them (CONTRACT §6); a key that
 * would overwrite a different value keeps its dots instead.
 */
export function nestDotted(
  flat: Readonly<Record<string, unknown>>,
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const key in flat) {
    const value = flat[key];
    // Most keys have no dot: placed as they are, without splitting.
    const path = key.includes('.') ? pathOf(key) : undefined;
    if (path === undefined) {
      into[key] = value;
      continue;
    }
    let node = into;
    let placed = true;
    for (let i = 0; i < path.length - 1; i++) {
      const part = path[i] ?? '';
      const next = node[part];
      if (next === undefined) node = node[part] = {};
      // Copied before writing into it: it may be a value shared with other records (a resource's).
      else if (typeof next === 'object' && next !== null && !Array.isArray(next))
        node = node[part] = { ...(next as Record<string, unknown>) };
      else {
        placed = false;
        break;
      }
    }
    const leaf = path[path.length - 1] ?? key;
    const existing = node[leaf];
    // A later map's value wins, as object spread would; an object is not replaced by a leaf.
    if (placed && (typeof existing !== 'object' || existing === null)) node[leaf] = value;
    else into[key] = value;
  }
  return into;
}

/** Dotted keys as paths, remembered: every record of a batch has the same few keys. */
const PATHS = new Map<string, readonly string[] | undefined>();
const PATHS_KEPT = 4096;

/** A dotted key's parts; undefined when it is kept whole (an empty part: `a..b`, `.a`, `a.`). */
function pathOf(key: string): readonly string[] | undefined {
  if (PATHS.has(key)) return PATHS.get(key);
  const parts = key.split('.');
  const path = parts.includes('') ? undefined : parts;
  // Keys are the sender's to choose: the memory of them stays bounded.
  if (PATHS.size >= PATHS_KEPT) PATHS.clear();
  PATHS.set(key, path);
  return path;
}

/** A message cut at `maxBytes` as the line inputs cut it, the cut said in fields.truncated_bytes. */
export function capMessage(record: ParsedRecord, maxBytes: number): ParsedRecord {
  const size = Buffer.byteLength(record.msg);
  if (size <= maxBytes) return record;
  const kept = Buffer.from(record.msg)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return {
    ...record,
    msg: `${kept}${truncationMarker(size - Buffer.byteLength(kept))}`,
    fields: { ...record.fields, truncated_bytes: size - Buffer.byteLength(kept) },
  };
}

/** Whether a record's fields as JSON fit in `maxBytes` (a record whose fields alone do not is refused, not cut). */
export function fieldsFit(record: ParsedRecord, maxBytes: number): boolean {
  if (record.fields === undefined) return true;
  // A generous bound first (every character escaped, every number 24 bytes): stringifying each
  // record's fields only to measure them cost a twentieth of the receiver's CPU.
  if (jsonBound(record.fields) <= maxBytes) return true;
  return Buffer.byteLength(JSON.stringify(record.fields)) <= maxBytes;
}

function jsonBound(value: unknown): number {
  if (typeof value === 'string') return value.length * 6 + 2;
  if (typeof value !== 'object' || value === null) return 24;
  let bytes = 2;
  if (Array.isArray(value)) for (const item of value) bytes += jsonBound(item) + 1;
  else
    for (const key in value) bytes += key.length * 6 + 4 + jsonBound((value as Record<string, unknown>)[key]);
  return bytes;
}
