import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker tests are I/O bound; two cores still run a few files side by side.
    fileParallelism: true,
    maxWorkers: 3,
    projects: [
      {
        // `npm run test:unit`: no RabbitMQ needed (SQLite files, fastify inject, pure modules).
        extends: true,
        test: { name: 'unit', include: ['test/**/*.unit.test.ts', 'test/**/*.unit.test.tsx'] },
      },
      {
        // The API's suite again on the PostgreSQL store (one suite, both stores: test/http/fixtures.ts).
        extends: true,
        test: {
          name: 'postgres',
          include: [
            'test/http/logs.unit.test.ts',
            'test/http/stream.unit.test.ts',
            'test/http/ops.unit.test.ts',
            'test/http/explore.unit.test.ts',
            'test/http/hosts.unit.test.ts',
            'test/http/query-language.unit.test.ts',
            'test/http/search.unit.test.ts',
          ],
          env: { WARREN_TEST_STORE: 'postgres' },
        },
      },
      {
        // Everything that talks to the real broker; the global set-up stops early if it is not there.
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: ['test/**/*.unit.test.ts', 'test/**/*.unit.test.tsx'],
          globalSetup: ['testkit/global-setup.ts'],
        },
      },
    ],
  },
});
