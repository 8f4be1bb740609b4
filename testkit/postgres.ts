import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL the tests use (trust auth on this machine); WARREN_TEST_PG overrides. */
export const TEST_PG = process.env.WARREN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';
/** The database test schemas live in; created on first use. */
const TEST_DATABASE = 'warren_test';

let ready: Promise<void> | null = null;

async function ensureDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEST_DATABASE]);
    if (exists.rowCount === 0) {
      // Two test workers may race to create it: the loser's duplicate is fine.
      await client.query(`CREATE DATABASE ${TEST_DATABASE}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

export interface TestSchema {
  /** A store URL whose search_path is this test's own schema. */
  readonly url: string;
  readonly schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** A schema of its own for one test's PostgreSQL store, in the shared test database. */
export async function createPgSchema(area = 'test'): Promise<TestSchema> {
  ready ??= ensureDatabase();
  await ready;
  const schema = `warren_${area.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = `${TEST_PG}/${TEST_DATABASE}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return {
    schema,
    url: `${admin}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async drop() {
      const drop = new pg.Client({ connectionString: admin });
      await drop.connect();
      try {
        await drop.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await drop.end();
      }
    },
  };
}

/** Runs SQL on a store URL on a connection of its own. */
export async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Restarts the machine's PostgreSQL cluster (pg_ctlcluster stop, `downMs` of outage, start) and
 * returns once it answers again; it is started again even if the wait is interrupted.
 */
export async function restartPostgres(downMs = 0): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const version = readdirSync('/etc/postgresql')
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  if (version === undefined) throw new Error('no PostgreSQL cluster under /etc/postgresql');
  const ctl = (action: string): void => {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], {
      stdio: 'ignore',
    });
  };
  ctl('stop');
  try {
    await new Promise((resolve) => setTimeout(resolve, downMs));
  } finally {
    ctl('start');
  }
  for (let i = 0; i < 60; i++) {
    try {
      await runSql(`${TEST_PG}/postgres`, 'SELECT 1');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error('PostgreSQL did not answer within 30 s of its restart');
}
