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
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes: Record<string, unknown> };

describe('docker-compose.yml', () => {
  const { rabbitmq, collector, 'demo-agent': agent } = compose.services;

  it('runs RabbitMQ from the management image, health-checked, on a volume', () => {
    expect(rabbitmq?.image).toMatch(/^rabbitmq:[\w.-]*management/);
    expect(rabbitmq?.ports).toContain('127.0.0.1:5672:5672');
    expect(rabbitmq?.healthcheck?.test?.join(' ')).toContain('rabbitmq-diagnostics');
    expect(rabbitmq?.volumes?.some((v) => v.endsWith(':/var/lib/rabbitmq'))).toBe(true);
  });

  it('runs the collector on port 8080 with a data volume, once the broker is healthy', () => {
    expect(collector?.command?.slice(0, 2)).toEqual(['node', 'bin/logcollect.js']);
    expect(collector?.command).toContain('0.0.0.0:8080');
    expect(collector?.ports).toContain('127.0.0.1:8080:8080');
    expect(collector?.volumes?.some((v) => v.startsWith('collector-data:'))).toBe(true);
    expect(collector?.depends_on?.rabbitmq?.condition).toBe('service_healthy');
    expect(collector?.environment?.AMQP_URL).toBe('amqp://guest:guest@rabbitmq:5672');
  });

  it('runs a demo agent that ships through logship once the collector is ready', () => {
    expect(agent?.command?.join(' ')).toContain('bin/logship.js');
    expect(agent?.depends_on?.collector?.condition).toBe('service_healthy');
  });

  it('builds the Warren image for both and declares every named volume', () => {
    expect(collector?.build).toBe('.');
    expect(agent?.build).toBe('.');
    expect(Object.keys(compose.volumes).sort()).toEqual(['agent-spool', 'collector-data', 'rabbitmq-data']);
  });
});
