import { ErrorCodes, WarrenError } from './errors.js';
import { isSeverity, normalizeSeverity, parseSeverity, SEVERITIES, type Severity } from './severity.js';

/** 1 to 32 of a-z 0-9 _ - (CONTRACT §2). */
export const FACILITY_PATTERN = /^[a-z0-9_-]{1,32}$/;

export interface RoutingKey {
  facility: string;
  severity: Severity;
}

export function isFacility(value: string): boolean {
  return FACILITY_PATTERN.test(value);
}

/** Validates a facility given by a user (`--facility`); case is folded, anything else is an error. */
export function parseFacility(input: string): string {
  const facility = input.trim().toLowerCase();
  if (!isFacility(facility)) {
    throw new WarrenError(ErrorCodes.BAD_FACILITY, `invalid facility '${input}'`, {
      hint: 'a facility is 1 to 32 characters of a-z, 0-9, _ and -, e.g. kern, auth, local0 or your app name',
      context: { input },
    });
  }
  return facility;
}

/** Turns any application name (`@acme/billing-api`) into a valid facility (`acme-billing-api`). */
export function facilityFromName(name: string, fallback = 'app'): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return cleaned.length > 0 ? cleaned : fallback;
}

/** `kern.critical` from its parts; validates both, normalising severity aliases. */
export function formatRoutingKey(facility: string, severity: string): string {
  return `${parseFacility(facility)}.${parseSeverity(severity)}`;
}

/** Strict parse of a published key: two words, a valid facility and a canonical severity. */
export function parseRoutingKey(key: string): RoutingKey {
  const words = key.split('.');
  if (words.length !== 2) {
    throw new WarrenError(
      ErrorCodes.BAD_ROUTING_KEY,
      `invalid routing key '${key}': expected two words <facility>.<severity>, got ${words.length}`,
      { hint: 'e.g. kern.critical or app.info', context: { key } },
    );
  }
  const [facility = '', severity = ''] = words;
  if (!isFacility(facility)) {
    throw new WarrenError(
      ErrorCodes.BAD_ROUTING_KEY,
      `invalid routing key '${key}': bad facility '${facility}'`,
      {
        hint: 'a facility is 1 to 32 characters of a-z, 0-9, _ and -',
        context: { key },
      },
    );
  }
  if (!isSeverity(severity)) {
    throw new WarrenError(
      ErrorCodes.BAD_ROUTING_KEY,
      `invalid routing key '${key}': unknown severity '${severity}'`,
      {
        hint: `a published severity is one of ${SEVERITIES.join(', ')}`,
        context: { key },
      },
    );
  }
  return { facility, severity };
}

/**
 * Best-effort reading of a key someone else published (`KERN.crit`, `a.b.c`): whatever part can be
 * read is returned, so odd records are still stored rather than dropped.
 */
export function readRoutingKey(key: string): Partial<RoutingKey> {
  const words = key.split('.');
  if (words.length !== 2) return {};
  const facility = (words[0] ?? '').toLowerCase();
  const severity = normalizeSeverity(words[1] ?? '');
  const result: Partial<RoutingKey> = {};
  if (isFacility(facility)) result.facility = facility;
  if (severity !== undefined) result.severity = severity;
  return result;
}
