/**
 * logship's V8 heap settings, applied by its entry point (cli.ts) before the rest of the CLI
 * loads (never by the library: a pino transport's host keeps its own).
 */
import v8 from 'node:v8';

// A burst allocates fast and briefly (lines, records); V8's default heap growth let the agent's
// RSS float to 160-230 MiB on a 1M-line syslog burst while it held a few MiB of data.
v8.setFlagsFromString('--heap-growing-percent=20');
// The young generation stays at its first size (1 MiB semi-spaces) instead of doubling up to
// 16 MiB each under a burst: records die right after encoding, so scavenges stay cheap, and the
// 30 MiB of new space was a fifth of the agent's peak RSS (issue 15).
v8.setFlagsFromString('--semi-space-growth-factor=1');
