/**
 * `node dist/bench/profile.js FILE.cpuprofile...`: where the time went, from the V8 CPU profiles
 * that `WARREN_BENCH_PROFILE=DIR npm run bench -- --only ...` leaves behind: self time per
 * function and per file (dependency packages grouped by name), biggest first.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (url === '') return '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return `dep:${modules[1]}`;
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist?.[1] !== undefined) return dist[1];
  return url.replace(/^node:/, 'node:');
}

function summarize(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)),
  );
  let total = 0;
  const perFunction = new Map<string, number>();
  const perFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += us;
    const place = where(node.callFrame.url);
    const name = `${node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName} ${place}:${node.callFrame.lineNumber + 1}`;
    perFunction.set(name, (perFunction.get(name) ?? 0) + us);
    perFile.set(place, (perFile.get(place) ?? 0) + us);
  }
  const top = (map: Map<string, number>, n: number): string =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([name, us]) =>
          `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
      )
      .join('\n');
  return `${file}: ${(total / 1e6).toFixed(2)} s sampled\n by file:\n${top(perFile, 12)}\n by function:\n${top(perFunction, 20)}\n`;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile...\n');
  process.exitCode = 2;
} else {
  for (const file of files) process.stdout.write(`${summarize(file)}\n`);
}
