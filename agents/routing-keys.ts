/** Facilities whose routing keys are kept made (a host's logs name a few dozen). */
const MAX_CACHED_FACILITIES = 1024;

/**
 * `facility.severity` made once per pair (inputs only hand over valid ones): built per record it
 * was a new string, flattened for the batcher's map, each time (~5% of a relayed record's path).
 */
export function routingKeyCache(): (facility: string, severity: string) => string {
  const keys = new Map<string, Map<string, string>>();
  return (facility, severity) => {
    let bySeverity = keys.get(facility);
    if (bySeverity === undefined) {
      // Bounded: inputs that name facilities per record (JSON lines) must not grow it without end.
      if (keys.size >= MAX_CACHED_FACILITIES) keys.clear();
      bySeverity = new Map();
      keys.set(facility, bySeverity);
    }
    let key = bySeverity.get(severity);
    if (key === undefined) {
      key = `${facility}.${severity}`;
      bySeverity.set(severity, key);
    }
    return key;
  };
}
