import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '../../testkit/temp.js';
import { waitUntil } from '../../testkit/wait.js';

interface Service {
  image?: string;
  build?: string;
  entrypoint?: unknown;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[] };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes: Record<string, unknown> };

describe('docker-compose.yml', () => {
  const { rabbitmq, collector, 'demo-agent': agent, 'demo-app': app } = compose.services;

  it('runs RabbitMQ from the management image, health-checked, on a volume', () => {
    expect(rabbitmq?.image).toMatch(/^rabbitmq:[\w.-]*management/);
    expect(rabbitmq?.ports).toContain('127.0.0.1:5672:5672');
    expect(rabbitmq?.healthcheck?.test?.join(' ')).toContain('rabbitmq-diagnostics');
    expect(rabbitmq?.volumes?.some((v) => v.endsWith(':/var/lib/rabbitmq'))).toBe(true);
  });

  it('runs the collector on port 8080 with a data volume, once the broker is healthy', () => {
    // The image's entrypoint execs the command: logcollect is PID 1 and gets docker's SIGTERM.
    expect(collector?.command?.[0]).toBe('logcollect');
    expect(collector?.command).toContain('0.0.0.0:8080');
    expect(collector?.ports).toContain('127.0.0.1:8080:8080');
    expect(collector?.volumes?.some((v) => v.startsWith('collector-data:'))).toBe(true);
    expect(collector?.depends_on?.rabbitmq?.condition).toBe('service_healthy');
    expect(collector?.environment?.AMQP_URL).toBe('amqp://guest:guest@rabbitmq:5672');
  });

  it("runs a demo agent as logship itself (no shell in between), following the demo app's file", () => {
    expect(agent?.command?.[0]).toBe('logship');
    expect(agent?.command?.join(' ')).not.toMatch(/sh -c|\|/);
    const file = agent?.command?.[agent.command.indexOf('--file') + 1];
    expect(app?.command).toContain(file);
    expect(agent?.depends_on?.collector?.condition).toBe('service_healthy');
  });

  it('restarts every service unless stopped', () => {
    for (const service of [rabbitmq, collector, agent, app]) expect(service?.restart).toBe('unless-stopped');
  });

  it('builds the Warren image for all three and declares every named volume', () => {
    for (const service of [collector, agent, app]) expect(service?.build).toBe('.');
    expect(Object.keys(compose.volumes).sort()).toEqual([
      'agent-spool',
      'collector-data',
      'demo-logs',
      'rabbitmq-data',
    ]);
  });
});

describe('both compose files', () => {
  const files = ['docker-compose.yml', 'docker-compose.cluster.yml'].map((name) => ({
    name,
    services: (
      parse(readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8'), { merge: true }) as {
        services: Record<string, Service>;
      }
    ).services,
  }));

  it("runs every Warren service's command as given, through the image's entrypoint, no shell", () => {
    for (const { name: file, services } of files) {
      for (const [name, service] of Object.entries(services)) {
        if (service.build === undefined) continue;
        const what = `${file}: ${name}`;
        expect(service.entrypoint, what).toBeUndefined();
        expect(Array.isArray(service.command), what).toBe(true);
        expect(['sh', 'bash', '/bin/sh', '/bin/bash'], what).not.toContain(service.command?.[0]);
      }
    }
  });
});

// The demo app runs as its container's PID 1 too, where the kernel drops a signal that has no
// handler: without one, `docker compose stop` waits out stop_grace_period and SIGKILLs it. Outside a
// container the same missing handler shows as death by signal instead of exit code 0.
const demoLogs = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/scripts/demo-logs.js');
describe.skipIf(!existsSync(demoLogs))('the demo app (built)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s, having written its lines', async (signal) => {
    const tmp = tempDir('demo-signal');
    try {
      const out = path.join(tmp.dir, 'app.log');
      const child = spawn(process.execPath, [demoLogs, '--out', out, '--rate', '100'], { stdio: 'ignore' });
      const exited = new Promise<[number | null, string | null]>((done) =>
        child.once('exit', (code, sig) => done([code, sig])),
      );
      await waitUntil(
        'the demo app wrote a line',
        () => existsSync(out) && readFileSync(out, 'utf8').includes('\n'),
        10_000,
      );
      child.kill(signal);
      expect(await exited).toEqual([0, null]);
      for (const line of readFileSync(out, 'utf8').trimEnd().split('\n'))
        expect(() => void JSON.parse(line)).not.toThrow();
    } finally {
      tmp.remove();
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const entrypoint = readFileSync(new URL('../../docker/entrypoint.sh', import.meta.url), 'utf8');

  it('runs as a user that is not root, through an entrypoint that execs the Warren commands', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["warren-entrypoint"\]$/m);
    expect(entrypoint).toContain('exec node "/app/bin/$command.js" "$@"');
    expect(entrypoint).toMatch(/logship \| logcollect \| logtail\)/);
  });
});

describe('docker-compose.cluster.yml', () => {
  const cluster = parse(readFileSync(new URL('../../docker-compose.cluster.yml', import.meta.url), 'utf8'), {
    merge: true,
  }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const conf = readFileSync(new URL('../../docker/rabbitmq-cluster.conf', import.meta.url), 'utf8');
  const rabbits = ['rabbit1', 'rabbit2', 'rabbit3'].map((name) => cluster.services[name]);
  const collectors = ['collector-1', 'collector-2'].map((name) => cluster.services[name]);

  it('runs three RabbitMQ nodes that form one cluster by name, with one cookie and their own data', () => {
    for (const [i, node] of rabbits.entries()) {
      expect(node?.image).toMatch(/^rabbitmq:[\w.-]*management/);
      expect(node?.healthcheck?.test?.join(' ')).toContain('rabbitmq-diagnostics');
      expect(node?.volumes).toContain(`rabbit${i + 1}-data:/var/lib/rabbitmq`);
      expect(node?.volumes?.some((v) => v.startsWith('./docker/rabbitmq-cluster.conf:'))).toBe(true);
      expect(node?.environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS).toBe(
        rabbits[0]?.environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS,
      );
      expect(conf).toContain(`cluster_formation.classic_config.nodes.${i + 1} = rabbit@rabbit${i + 1}`);
    }
    expect(conf).toContain('cluster_formation.peer_discovery_backend = classic_config');
  });

  it('runs two collectors on the quorum archive and the PostgreSQL store, on two ports, once all are healthy', () => {
    const ports = collectors.map((c) => c?.ports?.[0]);
    expect(new Set(ports).size).toBe(2);
    for (const collector of collectors) {
      expect(collector?.command?.[0]).toBe('logcollect');
      expect(collector?.command).toContain('--quorum');
      expect(collector?.environment?.WARREN_STORE).toMatch(
        /^postgres:\/\/warren:warren@postgres:5432\/warren$/,
      );
      expect(collector?.environment?.AMQP_URL?.split(',')).toHaveLength(3);
      expect(collector?.healthcheck?.test?.join(' ')).toContain('/readyz');
      for (const dependency of ['rabbit1', 'rabbit2', 'rabbit3', 'postgres'])
        expect(collector?.depends_on?.[dependency]?.condition).toBe('service_healthy');
    }
    expect(cluster.services.postgres?.healthcheck?.test?.join(' ')).toContain('pg_isready');
  });

  it('calls PostgreSQL healthy only once it listens on TCP, not while its first-start server runs', () => {
    // The image's init server answers on the Unix socket only; a probe there releases the collectors
    // into connection refused while it restarts.
    const test = cluster.services.postgres?.healthcheck?.test ?? [];
    expect(test.slice(0, 2)).toEqual(['CMD', 'pg_isready']);
    expect(test[test.indexOf('-h') + 1]).toBe('127.0.0.1');
  });

  it('runs the demo agent as logship itself with every node, and restarts everything unless stopped', () => {
    const agent = cluster.services['demo-agent'];
    expect(agent?.command?.[0]).toBe('logship');
    expect(agent?.command?.join(' ')).not.toMatch(/sh -c|\|/);
    expect(agent?.environment?.AMQP_URL?.split(',')).toHaveLength(3);
    for (const service of Object.values(cluster.services)) expect(service.restart).toBe('unless-stopped');
    expect(Object.keys(cluster.volumes).sort()).toEqual([
      'agent-spool',
      'demo-logs',
      'postgres-data',
      'rabbit1-data',
      'rabbit2-data',
      'rabbit3-data',
    ]);
  });
});
