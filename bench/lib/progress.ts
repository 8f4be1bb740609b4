/** Progress goes to stderr so stdout carries only the table. */
const started = Date.now();

export function progress(line: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${seconds}s] ${line}\n`);
}
