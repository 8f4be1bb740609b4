/**
 * `npm start`: the collector with its HTTP API, plus three small demo agents feeding it, so a new
 * user has something to route, search and tail. Uses the RabbitMQ at AMQP_URL and SQLite in ./data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { connectBroker, redactUrl, resolveCommonConfig, sleep } from '../protocol/index.js';
import { reportError } from '../protocol/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name: string): string => path.join(root, 'bin', `${name}.js`);
const FACILITIES = ['web', 'kern', 'auth'] as const;

function prefixOutput(child: ChildProcess, label: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[${label}] ${line}\n`));
  }
}

/** Polls the collector's /readyz until it answers 200 (true), or it exits or 60 s pass (false). */
async function collectorReady(api: string, collector: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && collector.exitCode === null && collector.signalCode === null) {
    const answer = await fetch(`${api}/readyz`).catch(() => undefined);
    if (answer?.status === 200) return true;
    await sleep(200);
  }
  return false;
}

async function main(): Promise<number> {
  const config = resolveCommonConfig({});
  // Fail in one line, before starting anything, when there is no broker to talk to.
  const probe = await connectBroker(config.amqpUrl, { name: 'warren-demo-probe' });
  await probe.close();

  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  const listen = process.env.WARREN_LISTEN ?? '127.0.0.1:8080';
  // Children get process groups of their own, so a Ctrl-C reaches only the demo, which then stops
  // them in order: generators first (the agents see their input end, flush and exit), then the collector.
  const generators: ChildProcess[] = [];
  const agents: ChildProcess[] = [];

  const collector = spawn(
    process.execPath,
    [bin('logcollect'), '--db', path.join(dataDir, 'warren.db'), '--listen', listen],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  prefixOutput(collector, 'collector');
  // Agents start once the collector has declared its queue: records published before would park
  // in logs.unrouted (CONTRACT §1), as the first demo run showed with 25 of them.
  if (!(await collectorReady(`http://${listen}`, collector))) {
    process.stderr.write('the collector did not become ready; see its output above\n');
    collector.kill('SIGTERM');
    return 1;
  }

  for (const facility of FACILITIES) {
    const generator = spawn(
      process.execPath,
      [path.join(root, 'dist', 'scripts', 'demo-logs.js'), '--facility', facility, '--rate', '5'],
      { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
    );
    const agent = spawn(
      process.execPath,
      [bin('logship'), '--facility', facility, '--spool', path.join(dataDir, 'spool', facility)],
      { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    if (generator.stdout !== null && agent.stdin !== null) generator.stdout.pipe(agent.stdin);
    prefixOutput(agent, `agent:${facility}`);
    generators.push(generator);
    agents.push(agent);
  }

  process.stderr.write(
    [
      '',
      `Warren demo: collector on http://${listen}, broker ${redactUrl(config.amqpUrl)}, store ${path.join('data', 'warren.db')}`,
      'Try, in another terminal:',
      "  npx logtail '*.critical'                         live tail of critical records",
      "  npx logtail --since 10m 'auth.warning+'          history, then live",
      `  curl 'http://${listen}/api/logs?pattern=kern.%23&limit=5'`,
      `  open http://${listen}/docs                        the API, documented`,
      'Ctrl-C stops the demo (the agents flush first).',
      '',
    ].join('\n'),
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) {
        for (const child of [...generators, ...agents, collector]) child.kill('SIGKILL');
        return;
      }
      stopping = true;
      process.stderr.write(
        '\nstopping: agents flush, then the collector commits and closes (Ctrl-C again to kill)\n',
      );
      const agentsDone = agents.map(
        (agent) =>
          new Promise<void>((done) => (agent.exitCode === null ? agent.once('exit', () => done()) : done())),
      );
      for (const generator of generators) generator.kill('SIGTERM');
      void Promise.all(agentsDone).then(() => collector.kill('SIGTERM'));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    collector.on('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`the collector exited (code ${code ?? 'signal'}); stopping the demo\n`);
        stop();
      }
      resolve(stopping && (code === 0 || code === null) ? 0 : 1);
    });
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(reportError('warren demo', err)),
);
