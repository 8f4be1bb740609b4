import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTENT_TYPE_JSON, CONTENT_TYPE_NDJSON, sleep, topologyNames } from '../protocol/index.js';
import { ensureBrokerRunning, openConnection as connect, rabbitmqctl } from '../testkit/broker.js';
import { waitUntil } from '../testkit/wait.js';
import { startCollector } from '../bench/lib/pipeline.js';
import { type Child, startBin } from '../testkit/processes.js';
import { Rig, type RigOptions, type ScenarioResult } from './lib/rig.js';
import { createPgSchema, restartPostgres } from '../testkit/postgres.js';
import { freePort } from '../testkit/net.js';
import { killNode, quorumLeader, removeCluster, startCluster, startNode } from '../testkit/cluster.js';

export interface ChaosOptions {
  quick: boolean;
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  /** Stops or restarts the broker: not for tests that share it. */
  touchesBroker: boolean;
  run: (options: ChaosOptions) => Promise<ScenarioResult>;
}

/** Runs `body` on a fresh rig and always tears it down (and puts the broker back). */
async function withRig(
  name: string,
  body: (rig: Rig) => Promise<ScenarioResult>,
  rigOptions: RigOptions = {},
): Promise<ScenarioResult> {
  const rig = new Rig(name, rigOptions);
  try {
    await rig.start();
    return await body(rig);
  } finally {
    await ensureBrokerRunning();
    await rig.cleanup();
  }
}

/** Waits for every record, then ends the agents and stops the collector gracefully before counting. */
async function settle(
  rig: Rig,
  options: ChaosOptions,
  timeoutMs = 120_000,
  /** Records sent that belong elsewhere (e.g. `.unrouted`), not in the store. */
  notStored = 0,
): Promise<string[]> {
  const problems: string[] = [];
  if (!(await rig.waitAllStored(timeoutMs, -notStored))) {
    problems.push(`not every record was stored within ${timeoutMs / 1000} s`);
    for (const line of await rig.diagnose()) options.log(`${rig.name}: ${line}`);
  }
  await rig.finishAgents();
  // Anything the agents still flushed at exit.
  await rig.waitAllStored(10_000, -notStored);
  if (rig.collector !== null) {
    const code = await rig.collector.stop(20_000);
    if (code !== 0) problems.push(`logcollect exited with ${String(code)} on SIGTERM`);
    rig.collector = null;
  }
  options.log(`${rig.name}: ${rig.storedRows()} rows stored for ${rig.sent.length} sent`);
  return problems;
}

/**
 * Where a scenario's records come from: `logship` (ids on every record), or a foreign publisher of
 * id-less text messages (plain pika, syslog-ng), whose redeliveries the store cannot catch by id.
 */
type Source = 'logship' | 'idless';

function startSource(rig: Rig, source: Source, id: string): void {
  if (source === 'idless') rig.startIdlessPublisher(id);
  else rig.startAgent(id);
}

const suffix = (source: Source): string => (source === 'idless' ? '-idless' : '');

/** 1. The broker application stops mid-ingest and starts again; agent and collector keep running. */
const brokerRestart: Scenario = {
  name: 'broker-restart',
  touchesBroker: true,
  run: (options) =>
    withRig('broker-restart', async (rig) => {
      await rig.startCollector();
      rig.startAgent('a1');
      const total = options.quick ? 6_000 : 20_000;
      let faulted = false;
      await rig.stream('a1', total, 2_000, async (sent) => {
        if (faulted || sent < total / 3) return;
        faulted = true;
        options.log('broker-restart: rabbitmqctl stop_app');
        await rabbitmqctl('stop_app');
        await sleep(3_000);
        options.log('broker-restart: rabbitmqctl start_app');
        await rabbitmqctl('start_app');
      });
      return rig.reconcile(await settle(rig, options));
    }),
};

/** 2. The broker closes every connection, three times, while records flow. */
function closeConnections(source: Source): Scenario {
  const name = `close-connections${suffix(source)}`;
  return {
    name,
    touchesBroker: true,
    run: (options) =>
      withRig(name, async (rig) => {
        await rig.startCollector();
        startSource(rig, source, 'a1');
        const total = options.quick ? 6_000 : 20_000;
        const at = [0.25, 0.5, 0.75].map((f) => Math.round(f * total));
        await rig.stream('a1', total, 2_000, async (sent) => {
          if (at.length > 0 && sent >= (at[0] ?? Infinity)) {
            at.shift();
            options.log(`${name}: rabbitmqctl close_all_connections`);
            await rabbitmqctl('close_all_connections', 'warren chaos');
          }
        });
        return rig.reconcile(await settle(rig, options));
      }),
  };
}

/**
 * 2b. The broker closes this rig's own connections (agent and collector, found by the proxy's
 * peer ports) three times: the same fault as close_all_connections without touching anyone
 * else's, so it can run in `npm test` beside other broker tests. (An id-less publisher connects
 * straight to the broker: the collector's connection is the one that matters.)
 */
function closeOwnConnectionsOf(source: Source): Scenario {
  const name = `close-own-connections${suffix(source)}`;
  const proxied = source === 'idless' ? 1 : 2;
  return {
    name,
    touchesBroker: false,
    run: (options) =>
      withRig(name, async (rig) => {
        await rig.startCollector({ viaProxy: true });
        startSource(rig, source, 'a1');
        const total = options.quick ? 4_000 : 20_000;
        const at = [0.25, 0.5, 0.75].map((f) => Math.round(f * total));
        await rig.stream('a1', total, 2_000, async (sent) => {
          if (at.length > 0 && sent >= (at[0] ?? Infinity)) {
            at.shift();
            // All back before the next close, so each close hits every proxied connection.
            await waitUntil(
              'the proxied connections back',
              () => rig.proxy.upstreamPorts().length >= proxied,
              10_000,
              50,
            ).catch(() => undefined);
            const closed = await rig.closeOwnConnections('warren chaos');
            options.log(`${name}: closed ${closed} connection(s)`);
          }
        });
        return rig.reconcile(await settle(rig, options));
      }),
  };
}

export const closeOwnConnections = closeOwnConnectionsOf('logship');
export const closeOwnConnectionsIdless = closeOwnConnectionsOf('idless');

/** 3. The collector is SIGKILLed mid-batch five times and restarted each time. */
function collectorKillOf(source: Source): Scenario {
  const name = `collector-sigkill${suffix(source)}`;
  return {
    name,
    touchesBroker: false,
    run: (options) =>
      withRig(name, async (rig) => {
        await rig.startCollector();
        startSource(rig, source, 'a1');
        const total = options.quick ? 10_000 : 40_000;
        const kills = 5;
        let done = 0;
        await rig.stream('a1', total, options.quick ? 4_000 : 5_000, async (sent) => {
          if (done >= kills || sent < ((done + 1) * total) / (kills + 1)) return;
          // Mid-batch: only while rows are still arriving.
          const before = rig.storedRows();
          await waitUntil('rows arriving', () => rig.storedRows() > before, 10_000, 5).catch(() => undefined);
          done++;
          options.log(`${name}: kill ${done}/${kills} at ${rig.storedRows()} rows`);
          await rig.killCollector('SIGKILL');
          await rig.startCollector();
        });
        return rig.reconcile(await settle(rig, options));
      }),
  };
}

export const collectorKill = collectorKillOf('logship');
export const collectorKillIdless = collectorKillOf('idless');

/**
 * A second collector started while the first ingests, on the same store and then on the first's
 * HTTP port: each must refuse before consuming anything (issue 14 item 2), and the first's store
 * still reconciles to every record exactly once.
 */
export const secondCollector: Scenario = {
  name: 'second-collector',
  touchesBroker: false,
  run: (options) =>
    withRig('second-collector', async (rig) => {
      await rig.startCollector();
      rig.startAgent('a1');
      const total = options.quick ? 6_000 : 20_000;
      const problems: string[] = [];
      const intruders = [
        { why: 'the same store', db: rig.db, port: 0, code: 1, says: 'is in use by another logcollect' },
        {
          why: 'a busy port',
          db: path.join(rig.dir, 'intruder.db'),
          port: rig.collectorPort,
          code: 2,
          says: 'cannot listen on',
        },
      ];
      await rig.stream('a1', total, options.quick ? 3_000 : 5_000, async (sent) => {
        const intruder = intruders[0];
        if (intruder === undefined || sent < total / 3) return;
        intruders.shift();
        const child = startCollector({ exchange: rig.exchange, db: intruder.db, port: intruder.port });
        const code = await child.exited;
        options.log(`second-collector: a collector on ${intruder.why} exited with ${String(code)}`);
        if (code !== intruder.code)
          problems.push(`a collector on ${intruder.why} exited with ${String(code)}, not ${intruder.code}`);
        if (!child.stderrText().includes(intruder.says))
          problems.push(`a collector on ${intruder.why} did not say '${intruder.says}'`);
        if (child.stderrText().includes('"consuming"'))
          problems.push(`a collector on ${intruder.why} started consuming`);
      });
      if (intruders.length > 0) problems.push(`${intruders.length} intruders never ran`);
      return rig.reconcile([...problems, ...(await settle(rig, options))]);
    }),
};

/** 4. The agent is SIGKILLed while the broker is unreachable and its spool holds records; then restarted. */
const agentKill: Scenario = {
  name: 'agent-sigkill-spooling',
  touchesBroker: false,
  run: (options) =>
    withRig('agent-sigkill-spooling', async (rig) => {
      await rig.startCollector();
      // A followed file: unlike a pipe, what the killed agent had read is still there to re-read.
      rig.startAgent('a1', { file: true });
      await rig.send('a1', 1_000);
      if (!(await rig.waitAllStored(60_000))) throw new Error('the first records never arrived');
      options.log('agent-sigkill-spooling: broker unreachable for the agent');
      await rig.proxy.cut();
      await rig.stream('a1', options.quick ? 3_000 : 10_000, 2_000);
      await waitUntil('records in the spool', () => rig.spoolBytes('a1') > 0, 30_000, 100);
      await sleep(1_500);
      options.log(`agent-sigkill-spooling: SIGKILL with ${rig.spoolBytes('a1')} bytes spooled`);
      rig.agent('a1').child?.kill('SIGKILL');
      await rig.agent('a1').child?.exited;
      rig.startAgent('a1', { file: true });
      await rig.stream('a1', 1_000, 2_000);
      await sleep(2_000);
      options.log('agent-sigkill-spooling: broker reachable again');
      await rig.proxy.restore();
      return rig.reconcile(await settle(rig, options));
    }),
};

/** 5. The broker is unreachable for the agents for 30 s while they keep logging, then back. */
const brokerUnreachable: Scenario = {
  name: 'broker-unreachable-30s',
  touchesBroker: false,
  run: (options) =>
    withRig('broker-unreachable-30s', async (rig) => {
      await rig.startCollector();
      rig.startAgent('a1');
      rig.startAgent('a2');
      const outage = options.quick ? 8_000 : 30_000;
      const perSecond = 1_000;
      const seconds = 3 + outage / 1000 + 3;
      const cutAt = 3 * perSecond;
      const restoreAt = cutAt + (outage / 1000) * perSecond;
      let state: 'before' | 'cut' | 'after' = 'before';
      await Promise.all([
        rig.stream('a1', seconds * perSecond, perSecond, async (sent) => {
          if (state === 'before' && sent >= cutAt) {
            state = 'cut';
            options.log(`broker-unreachable-30s: cut for ${outage / 1000} s`);
            await rig.proxy.cut();
          } else if (state === 'cut' && sent >= restoreAt) {
            state = 'after';
            options.log(
              `broker-unreachable-30s: back (spools ${rig.spoolBytes('a1')} + ${rig.spoolBytes('a2')} bytes)`,
            );
            await rig.proxy.restore();
          }
        }),
        rig.stream('a2', seconds * perSecond, perSecond),
      ]);
      return rig.reconcile(await settle(rig, options));
    }),
};

interface Poison {
  tag: string;
  body: Buffer;
  contentType?: string;
  routingKey: string;
  /** Records in it that are good and must be stored. */
  good: string[];
  /** Whether some of it must reach `.dead` ('either': stored whole or dead-lettered, both are fine). */
  bad: boolean | 'either';
}

function poisons(run: string, hugeBytes: number): Poison[] {
  const t = (kind: string): string => `${run}/poison/${kind}`;
  const good = (kind: string, i: number): string => `${t(kind)}-good${i}`;
  const list: Poison[] = [
    {
      tag: t('invalid-json'),
      body: Buffer.from(`{"msg": "chaos=${t('invalid-json')}", oops`),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('json-array'),
      body: Buffer.from(`["chaos=${t('json-array')}"]`),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('json-string'),
      body: Buffer.from(`"chaos=${t('json-string')}"`),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('no-msg'),
      body: Buffer.from(JSON.stringify({ text: `chaos=${t('no-msg')}` })),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('msg-not-string'),
      body: Buffer.from(JSON.stringify({ msg: 42, note: `chaos=${t('msg-not-string')}` })),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('empty-json'),
      body: Buffer.from(''),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('invalid-utf8'),
      body: Buffer.concat([
        Buffer.from(`{"msg":"chaos=${t('invalid-utf8')} `),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from('"}'),
      ]),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    {
      tag: t('ndjson-one-bad'),
      body: Buffer.from(
        [0, 1, 2].map((i) => JSON.stringify({ msg: `chaos=${good('ndjson-one-bad', i)} fine` })).join('\n') +
          `\n{"msg":"chaos=${t('ndjson-one-bad')} broken\n` +
          JSON.stringify({ msg: `chaos=${good('ndjson-one-bad', 3)} fine` }) +
          '\n',
      ),
      contentType: CONTENT_TYPE_NDJSON,
      routingKey: 'chaos.warning',
      good: [0, 1, 2, 3].map((i) => good('ndjson-one-bad', i)),
      bad: true,
    },
    {
      tag: t('ndjson-all-bad'),
      body: Buffer.from(`chaos=${t('ndjson-all-bad')} not json\n[1,2]\n{"no":"msg"}\n`),
      contentType: CONTENT_TYPE_NDJSON,
      routingKey: 'chaos.warning',
      good: [],
      bad: true,
    },
    {
      tag: t('huge'),
      body: Buffer.from(JSON.stringify({ msg: `chaos=${t('huge')} ${'x'.repeat(hugeBytes)}` })),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.error',
      good: [],
      // Above the collector's --max-message-bytes (8 MiB by default) it must be dead-lettered whole.
      bad: 'either',
    },
    {
      tag: t('binary-ndjson'),
      body: Buffer.concat([
        Buffer.from(`chaos=${t('binary-ndjson')}`),
        Buffer.from([0, 1, 2, 0xff, 0x80, 10, 0]),
      ]),
      contentType: CONTENT_TYPE_NDJSON,
      routingKey: 'chaos.error',
      good: [],
      bad: true,
    },
    // Not poison: foreign publishers that must be stored, not dead-lettered.
    {
      tag: t('plain-text'),
      body: Buffer.from(`chaos=${good('plain-text', 0)} from amqp-publish\n`),
      routingKey: 'chaos.notice',
      good: [good('plain-text', 0)],
      bad: false,
    },
    {
      tag: t('three-word-key'),
      body: Buffer.from(JSON.stringify({ msg: `chaos=${good('three-word-key', 0)}` })),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.info.extra',
      good: [good('three-word-key', 0)],
      bad: false,
    },
    {
      tag: t('unknown-severity'),
      body: Buffer.from(JSON.stringify({ msg: `chaos=${good('unknown-severity', 0)}` })),
      contentType: CONTENT_TYPE_JSON,
      routingKey: 'chaos.verbose',
      good: [good('unknown-severity', 0)],
      bad: false,
    },
  ];
  return list;
}

/** Text of every message waiting in `queue` (consumed and acked), with its x-warren-error header. */
async function drainQueue(queue: string): Promise<{ body: string; messageId: unknown; reason: unknown }[]> {
  const connection = await connect('chaos-dead-reader');
  try {
    const channel = await connection.createChannel();
    const out: { body: string; messageId: unknown; reason: unknown }[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      const headers = message.properties.headers;
      out.push({
        body: message.content.toString('latin1'),
        messageId: message.properties.messageId,
        reason: headers?.['x-warren-error'],
      });
    }
    return out;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** 6. Poison messages of every kind mixed into a stream of good records. */
export const poison: Scenario = {
  name: 'poison',
  touchesBroker: false,
  run: (options) =>
    withRig('poison', async (rig) => {
      await rig.startCollector();
      rig.startAgent('a1');
      const names = topologyNames(rig.exchange);
      const list = poisons(rig.exchange.slice(-6), 9 * 1024 * 1024);
      const connection = await connect('chaos-poisoner');
      try {
        const channel = await connection.createConfirmChannel();
        const total = options.quick ? 3_000 : 10_000;
        let next = 0;
        await rig.stream('a1', total, 2_000, () => {
          // Spread the poison through the stream.
          const due = Math.floor((list.length * rig.sent.length) / total);
          while (next < Math.min(due, list.length)) {
            const item = list[next++];
            if (item === undefined) break;
            channel.publish(names.exchange, item.routingKey, item.body, {
              persistent: true,
              ...(item.contentType === undefined ? {} : { contentType: item.contentType }),
              messageId: item.tag,
              timestamp: Math.floor(Date.now() / 1000),
            });
          }
        });
        await channel.waitForConfirms();
      } finally {
        await connection.close().catch(() => undefined);
      }
      const goodTags = list.flatMap((p) => p.good);
      const problems: string[] = [];
      if (!(await rig.waitAllStored(60_000, goodTags.length)))
        problems.push('not every good record was stored within 60 s');
      const dead = await (async () => {
        let found: { body: string; messageId: unknown; reason: unknown }[] = [];
        const deadline = Date.now() + 20_000;
        const wanted = list.filter((p) => p.bad !== false);
        const storedTags = (): Set<string> =>
          new Set(rig.storedMessages().map((m) => /^chaos=(\S+)/.exec(m)?.[1] ?? ''));
        for (;;) {
          found = [...found, ...(await drainQueue(names.dead))];
          const stored = storedTags();
          const missing = wanted.filter(
            (p) =>
              !found.some((d) => d.messageId === p.tag || d.body.includes(p.tag)) &&
              !(p.bad === 'either' && stored.has(p.tag)),
          );
          if (missing.length === 0 || Date.now() > deadline) return { found, missing };
          await sleep(500);
        }
      })();
      for (const p of dead.missing)
        problems.push(`poison ${p.tag.split('/').pop() ?? p.tag} is not in ${names.dead}`);
      const unexplained = dead.found.filter((d) => d.reason === undefined);
      if (unexplained.length > 0)
        problems.push(`${unexplained.length} dead-lettered message(s) without an x-warren-error reason`);
      const kinds = list.filter((p) => p.bad !== false).length;
      options.log(
        `poison: ${dead.found.length} message(s) in ${names.dead}; ${kinds - dead.missing.length} of ${kinds} poison kinds accounted for`,
      );
      const result = rig.reconcile([...problems, ...(await settle(rig, options))], goodTags);
      result.lost += dead.missing.length;
      return result;
    }),
};

/** 7. The collector's disk fills up: it stops acking, says so, and resumes when space returns. */
const diskFull: Scenario = {
  name: 'disk-full',
  touchesBroker: false,
  run: async (options) => {
    const mount = mkdtempSync(path.join(os.tmpdir(), 'warren-chaos-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount]);
    try {
      mkdirSync(path.join(mount, 'store'));
      return await withRig(
        'disk-full',
        async (rig) => {
          await rig.startCollector();
          rig.startAgent('a1');
          await rig.stream('a1', 2_000, 2_000);
          if (!(await rig.waitAllStored(60_000))) throw new Error('the first records never arrived');
          // Fill the filesystem to the last byte.
          const filler = path.join(mount, 'filler');
          const block = Buffer.alloc(1024 * 1024, 0x61);
          for (const size of [block, block.subarray(0, 4096), block.subarray(0, 1)]) {
            try {
              for (;;) writeFileSync(filler, size, { flag: 'a' });
            } catch {
              // ENOSPC: this size no longer fits; try a smaller one.
            }
          }
          options.log('disk-full: the store filesystem is full');
          const before = rig.storedRows();
          const logBefore = rig.collectorLog.length;
          await rig.stream('a1', options.quick ? 3_000 : 10_000, 2_000);
          await sleep(3_000);
          const problems: string[] = [];
          const depth = await rig.archiveDepth();
          const said = rig.collectorLog.slice(logBefore);
          options.log(
            `disk-full: ${rig.storedRows() - before} rows stored while full, ${depth} messages waiting in the queue`,
          );
          const saying = said
            .split('\n')
            .find((line) => /full|space|SQLITE_FULL|not writable|disk/i.test(line));
          if (saying === undefined) problems.push('the collector did not say the disk is full');
          else options.log(`disk-full: the collector said: ${saying.slice(0, 300)}`);
          if (rig.collector?.hasExited() === true) {
            problems.push(
              `the collector exited (${String(await rig.collector.exited)}) instead of waiting for space`,
            );
          }
          unlinkSync(filler);
          options.log('disk-full: space is back');
          if (rig.collector === null || rig.collector.hasExited()) await rig.startCollector();
          return rig.reconcile([...problems, ...(await settle(rig, options))]);
        },
        { dbDir: path.join(mount, 'store') },
      );
    } finally {
      try {
        execFileSync('umount', ['-l', mount]);
      } catch {
        // already gone
      }
      rmSync(mount, { recursive: true, force: true });
    }
  },
};

/**
 * 9. The followed file is rotated (renamed, a new one created) while the agent is stopped, with
 * lines it never read in the rotated file: on restart it finishes that file, then the new one.
 */
export const rotationWhileStopped: Scenario = {
  name: 'rotation-while-stopped',
  touchesBroker: false,
  run: (options) =>
    withRig('rotation-while-stopped', async (rig) => {
      await rig.startCollector();
      rig.startAgent('a1', { file: true });
      const step = options.quick ? 1_000 : 10_000;
      await rig.send('a1', step);
      if (!(await rig.waitAllStored(60_000))) throw new Error('the first records never arrived');
      const first = rig.agent('a1').child;
      first?.kill('SIGTERM');
      await first?.exited;
      const file = rig.agent('a1').file!;
      options.log('rotation-while-stopped: agent stopped; lines written, file rotated, new file written');
      await rig.send('a1', step);
      renameSync(file, `${file}.1`);
      await rig.send('a1', step);
      rig.startAgent('a1', { file: true });
      await rig.send('a1', step);
      return rig.reconcile(await settle(rig, options));
    }),
};

/**
 * 10. Live tails bound to every key come and go while a collector archives only `chaos.*` and a
 * second agent ships `stray.*`: every stray record must reach `.unrouted` whether or not a tail
 * runs (issue 14 item 1), and every `chaos.*` record the store, each exactly once.
 */
export const tailsAndUnrouted: Scenario = {
  name: 'tails-and-unrouted',
  touchesBroker: false,
  run: (options) =>
    withRig('tails-and-unrouted', async (rig) => {
      await rig.startCollector({ args: ['--bind', 'chaos.*'] });
      rig.startAgent('a1');
      rig.startAgent('s1', { facility: 'stray' });
      const total = options.quick ? 4_000 : 20_000;
      const tails: Child[] = [];
      // A tail counts once it prints a record: then its queue is bound and records flow past it.
      const startTail = async (): Promise<void> => {
        const tail = startBin('logtail', ['--json', '--exchange', rig.exchange, '#'], {
          env: { WARREN_API: '' },
        });
        tails.push(tail);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          tail.process.stdout?.once('data', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        tail.process.stdout?.resume();
      };
      let switched = 0;
      await rig.stream('a1', total, 1_000, async (sent) => {
        await rig.send('s1', Math.round(total / 40));
        // A tail starts or stops every fifth of the run, so records flow with and without one.
        if (sent >= (switched * total) / 5) {
          switched++;
          const running = tails.at(-1);
          if (running !== undefined && !running.hasExited()) await running.stop(5_000);
          else await startTail();
        }
      });
      for (const tail of tails) if (!tail.hasExited()) await tail.stop(5_000);
      const strays = rig.sent.filter((tag) => tag.includes('/s1/')).length;
      const problems = await settle(rig, options, 120_000, strays);
      // The stray records are in .unrouted, nowhere else.
      const unrouted = (await drainQueue(topologyNames(rig.exchange).unrouted)).flatMap((m) =>
        messagesOf(m.body),
      );
      options.log(
        `tails-and-unrouted: ${tails.length} tails, ${unrouted.length} of ${strays} stray records in .unrouted`,
      );
      return rig.reconcile(problems, [], unrouted);
    }),
};

/** The `msg` of each record in an NDJSON (or plain-text) message body. */
function messagesOf(body: string): string[] {
  return body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        const record = JSON.parse(line) as { msg?: unknown };
        return typeof record.msg === 'string' ? record.msg : line;
      } catch {
        return line;
      }
    });
}

/**
 * 11. On the local 3-node RabbitMQ cluster (scripts/rabbitmq-cluster.sh), with the archive a
 * quorum queue and every process given all three addresses: the node leading the queue is
 * SIGKILLed mid-ingest, then started again. Agents and the collector fail over to the other nodes.
 */
export const quorumLeaderKill: Scenario = {
  name: 'quorum-leader-sigkill',
  touchesBroker: false,
  run: async (options) => {
    const urls = await startCluster();
    // The cluster goes with the scenario: a chaos run leaves only the machine's broker behind.
    try {
      return await withRig(
        'quorum-leader-sigkill',
        async (rig) => {
          await rig.startCollector({ args: ['--quorum'] });
          rig.startAgent('a1', { viaProxy: false });
          const total = options.quick ? 6_000 : 30_000;
          let killed = 0;
          await rig.stream('a1', total, 2_000, async (sent) => {
            if (killed > 0 || sent < total / 3) return;
            const leader = await quorumLeader(topologyNames(rig.exchange).archive);
            options.log(
              `quorum-leader-sigkill: SIGKILL node ${leader}, the queue's leader, at ${rig.storedRows()} rows`,
            );
            await killNode(leader);
            killed = leader;
          });
          if (killed > 0) {
            await startNode(killed);
            options.log(`quorum-leader-sigkill: node ${killed} back`);
          }
          const problems = await settle(rig, options);
          if (killed === 0) problems.push('the leader was never killed');
          return rig.reconcile(problems);
        },
        { amqpUrl: urls },
      );
    } finally {
      await removeCluster();
    }
  },
};

/** Runs `body` on a rig whose store is a PostgreSQL schema of its own (dropped afterwards). */
async function withPgRig(name: string, body: (rig: Rig) => Promise<ScenarioResult>): Promise<ScenarioResult> {
  const schema = await createPgSchema(name.replace(/-/g, '_'));
  try {
    return await withRig(name, body, { storeUrl: schema.url });
  } finally {
    await schema.drop();
  }
}

/**
 * Issue 17: two collectors consume the archive queue, competing, into one PostgreSQL store; one of
 * them is SIGKILLed three times mid-ingest and started again. Every record once.
 */
export const pgTwoCollectorsKill: Scenario = {
  name: 'pg-two-collectors-sigkill',
  touchesBroker: false,
  run: (options) =>
    withPgRig('pg-two-collectors-sigkill', async (rig) => {
      await rig.startCollector();
      const port = await freePort();
      const startVictim = (): Child =>
        startCollector({
          exchange: rig.exchange,
          db: rig.db,
          port,
          args: ['--connection-name', `chaos-${rig.name}-victim`],
        });
      let victim = startVictim();
      rig.startAgent('a1');
      const total = options.quick ? 10_000 : 30_000;
      const kills = 3;
      let done = 0;
      await rig.stream('a1', total, options.quick ? 3_000 : 4_000, async (sent) => {
        if (done >= kills || sent < ((done + 1) * total) / (kills + 1)) return;
        done++;
        options.log(
          `pg-two-collectors-sigkill: kill ${done}/${kills} of the second collector at ${rig.storedRows()} rows`,
        );
        victim.kill('SIGKILL');
        await victim.exited;
        victim = startVictim();
      });
      const problems = await settle(rig, options);
      if ((await victim.stop(20_000)) !== 0) problems.push('the second collector did not exit 0 on SIGTERM');
      return rig.reconcile(problems);
    }),
};

/**
 * Issue 17: PostgreSQL restarted mid-ingest (pg_ctlcluster stop, 3 s down, start): the collector's batches fail,
 * nothing is acked, it retries until the database is back. Every record once; PostgreSQL runs after.
 */
export const pgRestart: Scenario = {
  name: 'pg-restart',
  touchesBroker: false,
  run: (options) =>
    withPgRig('pg-restart', async (rig) => {
      await rig.startCollector();
      rig.startAgent('a1');
      const total = options.quick ? 8_000 : 30_000;
      const outage: { done: Promise<void> | null } = { done: null };
      // Not awaited in the stream's callback: records keep coming while PostgreSQL is down.
      await rig.stream('a1', total, options.quick ? 3_000 : 4_000, (sent) => {
        if (outage.done !== null || sent < total / 3) return;
        options.log(`pg-restart: restarting PostgreSQL at ${rig.storedRows()} rows`);
        outage.done = restartPostgres(3_000).then(() => options.log('pg-restart: PostgreSQL is back'));
      });
      const problems: string[] = [];
      if (outage.done === null) problems.push('PostgreSQL was never restarted');
      else await outage.done;
      problems.push(...(await settle(rig, options)));
      // Three seconds down while records arrive: batches must have failed and been retried.
      if (!rig.collectorLog.includes('the store accepts writes again'))
        problems.push('no batch failed while PostgreSQL was down: the outage was not tested');
      return rig.reconcile(problems);
    }),
};

export const SCENARIOS: readonly Scenario[] = [
  brokerRestart,
  closeConnections('logship'),
  closeConnections('idless'),
  closeOwnConnections,
  closeOwnConnectionsIdless,
  collectorKill,
  collectorKillIdless,
  secondCollector,
  agentKill,
  brokerUnreachable,
  poison,
  diskFull,
  rotationWhileStopped,
  tailsAndUnrouted,
  quorumLeaderKill,
  pgTwoCollectorsKill,
  pgRestart,
];
