/**
 * `npm run chaos [-- --quick] [-- --only name,...]`: pushes known records through the real
 * pipeline while faults happen, reconciles the store against what was sent, prints one line per
 * scenario and a total; exits 0 only if nothing was lost or duplicated. Leaves the broker running.
 */
import { Command } from 'commander';
import { runMain } from '../protocol/cli.js';
import { ensureBrokerRunning, waitForBroker } from '../testkit/broker.js';
import { binAvailable } from '../testkit/processes.js';
import { progress } from '../bench/lib/progress.js';
import { formatResult, type ScenarioResult } from './lib/rig.js';
import { SCENARIOS } from './scenarios.js';

async function main(): Promise<number> {
  const program = new Command('chaos')
    .description('Fault injection against the real logship/logcollect pipeline; reconciles every record')
    .option('--quick', 'fewer records and a shorter outage (env WARREN_CHAOS_QUICK=1)')
    .option('--only <names>', `comma-separated subset of: ${SCENARIOS.map((s) => s.name).join(', ')}`)
    .exitOverride();
  program.parse(process.argv);
  const options = program.opts<{ quick?: boolean; only?: string }>();
  const quick = options.quick === true || process.env.WARREN_CHAOS_QUICK === '1';
  const only = options.only
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `chaos: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})\n`,
    );
    return 2;
  }
  for (const bin of ['logship', 'logcollect'] as const) {
    if (!binAvailable(bin)) {
      process.stderr.write(
        `chaos: ${bin} is not built (bin/${bin}.js and its dist/ code); run npm run build\n`,
      );
      return 1;
    }
  }
  await waitForBroker(30_000);
  // Ctrl-C mid-scenario must not leave the broker stopped.
  const onSignal = (): void => {
    void ensureBrokerRunning().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: ScenarioResult[] = [];
  try {
    for (const scenario of SCENARIOS) {
      if (only !== undefined && !only.includes(scenario.name)) continue;
      progress(`== ${scenario.name}${quick ? ' (quick)' : ''}`);
      let result: ScenarioResult;
      try {
        result = await scenario.run({ quick, log: progress });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // A scenario that could not run has proved nothing: it counts as a failure with what it sent unknown.
        result = {
          name: scenario.name,
          sent: 0,
          stored: 0,
          lost: 0,
          duplicated: 0,
          problems: [`could not run: ${message}`],
        };
      }
      results.push(result);
      process.stdout.write(`${formatResult(result)}\n`);
      for (const problem of result.problems) process.stdout.write(`  problem: ${problem}\n`);
    }
  } finally {
    await ensureBrokerRunning();
  }
  const lost = results.reduce((sum, r) => sum + r.lost, 0);
  const duplicated = results.reduce((sum, r) => sum + r.duplicated, 0);
  const broken = results.filter((r) => r.problems.some((p) => p.startsWith('could not run')));
  process.stdout.write(`chaos: lost=${lost} duplicated=${duplicated}\n`);
  if (broken.length > 0)
    process.stdout.write(
      `chaos: ${broken.length} scenario(s) could not run: ${broken.map((r) => r.name).join(', ')}\n`,
    );
  return lost === 0 && duplicated === 0 && broken.length === 0 ? 0 : 1;
}

runMain('chaos', main);
