import pino, { type Logger } from 'pino';

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/**
 * The agent's own log on stderr as one readable line per event (`logship: warning: ...
 * key=value`), since an operator reads it in a terminal; with WARREN_LOG_JSON=1 it is pino's JSON.
 */
export function createCliLogger(
  program: string,
  verbose: boolean,
  stream: NodeJS.WritableStream = process.stderr,
): Logger {
  const level = verbose ? 'info' : 'warn';
  if (process.env.WARREN_LOG_JSON === '1') return pino({ level, base: { program } }, stream);
  return pino(
    { level, base: null, timestamp: false },
    {
      write(line: string): void {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          stream.write(line);
          return;
        }
        const { level: n, msg, ...rest } = entry;
        const extras = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const label = typeof n === 'number' && n >= 40 ? `${LEVELS[n] ?? 'warning'}: ` : '';
        stream.write(
          `${program}: ${label}${typeof msg === 'string' ? msg : ''}${extras === '' ? '' : ` (${extras})`}\n`,
        );
      },
    },
  );
}
