import { ErrorCodes, WarrenError } from './errors.js';

/** RFC 5424 severities, most severe first: the index is the syslog severity number. */
export const SEVERITIES = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'info',
  'debug',
] as const;

export type Severity = (typeof SEVERITIES)[number];

/** Accepted on input and normalised; never published (CONTRACT §2). */
export const SEVERITY_ALIASES: Readonly<Record<string, Severity>> = Object.freeze({
  emerg: 'emergency',
  panic: 'emergency',
  crit: 'critical',
  fatal: 'critical',
  err: 'error',
  warn: 'warning',
  trace: 'debug',
});

const CANONICAL: ReadonlySet<string> = new Set(SEVERITIES);

/** The letter cases a routing key's words are bound in on the broker (CONTRACT §2): `kern.crit`, `KERN.CRIT`. */
export const KEY_CASES = ['lower', 'upper'] as const;

export type KeyCase = (typeof KEY_CASES)[number];

export function inKeyCase(text: string, keyCase: KeyCase): string {
  return keyCase === 'lower' ? text.toLowerCase() : text.toUpperCase();
}

/** One way a routing key may spell a severity word (`crit`, `CRITICAL`), and what it means. */
export interface SeveritySpelling {
  readonly spelling: string;
  readonly severity: Severity;
  readonly keyCase: KeyCase;
}

/**
 * Every spelling of a severity word the broker is bound for (CONTRACT §2): each canonical name and
 * alias, all lower case and all UPPER case; in key-case, then severity, then canonical-first order.
 */
export const SEVERITY_SPELLINGS: readonly SeveritySpelling[] = Object.freeze(
  KEY_CASES.flatMap((keyCase) =>
    SEVERITIES.flatMap((severity) =>
      [
        severity,
        ...Object.keys(SEVERITY_ALIASES).filter((alias) => SEVERITY_ALIASES[alias] === severity),
      ].map((name) => Object.freeze({ spelling: inKeyCase(name, keyCase), severity, keyCase })),
    ),
  ),
);

export function isSeverity(value: string): value is Severity {
  return CANONICAL.has(value);
}

/** 0 (emergency) .. 7 (debug). */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function severityFromRank(rank: number): Severity | undefined {
  return Number.isInteger(rank) ? SEVERITIES[rank] : undefined;
}

/** A canonical severity for a name or alias in any case, or undefined. */
export function normalizeSeverity(input: string): Severity | undefined {
  const lower = input.trim().toLowerCase();
  if (isSeverity(lower)) return lower;
  // own keys only: 'constructor' is not an alias
  return Object.hasOwn(SEVERITY_ALIASES, lower) ? SEVERITY_ALIASES[lower] : undefined;
}

/** Like normalizeSeverity, but a bad name is a usage error that lists the choices. */
export function parseSeverity(input: string): Severity {
  const severity = normalizeSeverity(input);
  if (severity === undefined) {
    throw new WarrenError(ErrorCodes.BAD_SEVERITY, `unknown severity '${input}'`, {
      hint: `use one of ${SEVERITIES.join(', ')} (or an alias: ${Object.keys(SEVERITY_ALIASES).join(', ')})`,
      context: { input },
    });
  }
  return severity;
}

/** The given severity and every more severe one, most severe first: the `+` range of CONTRACT §3. */
export function severitiesAtLeast(severity: Severity): Severity[] {
  return SEVERITIES.slice(0, severityRank(severity) + 1);
}

/** pino's numeric levels (10 trace .. 60 fatal) and level names, mapped per CONTRACT §2. */
export function severityFromPinoLevel(level: number | string): Severity | undefined {
  if (typeof level === 'string') return normalizeSeverity(level);
  if (!Number.isFinite(level)) return undefined;
  if (level >= 60) return 'critical';
  if (level >= 50) return 'error';
  if (level >= 40) return 'warning';
  if (level >= 30) return 'info';
  return 'debug';
}

/** Syslog facility names by code (RFC 5424 table 1); codes 12-15 have no standard short name. */
export const SYSLOG_FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

/** PRI = facility × 8 + severity; undefined when the PRI is out of range (0..191). */
export function fromSyslogPri(pri: number): { facility: string; severity: Severity } | undefined {
  if (!Number.isInteger(pri) || pri < 0 || pri > 191) return undefined;
  const facility = SYSLOG_FACILITIES[Math.floor(pri / 8)];
  const severity = SEVERITIES[pri % 8];
  return facility === undefined || severity === undefined ? undefined : { facility, severity };
}

/** The PRI for a facility (syslog name or local0..7) and severity; undefined for application facilities. */
export function toSyslogPri(facility: string, severity: Severity): number | undefined {
  const code = (SYSLOG_FACILITIES as readonly string[]).indexOf(facility);
  return code < 0 ? undefined : code * 8 + severityRank(severity);
}
