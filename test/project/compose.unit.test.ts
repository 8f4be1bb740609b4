import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: string;
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
