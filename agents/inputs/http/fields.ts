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
  for (const [key, value] of Object.entries(flat)) {
    const path = key.split('.');
    if (path.some((part) => part === '') || path.length === 1) {
      into[key] = value;
      continue;
    }
    let node = into;
    let placed = true;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (next === undefined) node = node[part] = {};
      else if (typeof next === 'object' && next !== null && !Array.isArray(next))
        node = next as Record<string, unknown>;
      else {
        placed = false;
        break;
      }
    }
    const leaf = path.at(-1) ?? key;
    if (placed && !(leaf in node)) node[leaf] = value;
    else into[key] = value;
  }
  return into;
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

/** Bytes the fields take as JSON: a record whose fields alone are over the cap is refused, not cut. */
export function fieldBytes(record: ParsedRecord): number {
  return record.fields === undefined ? 0 : Buffer.byteLength(JSON.stringify(record.fields));
}
