import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Broker tests are I/O bound; two cores still run a few files side by side.
    fileParallelism: true,
    maxWorkers: 3,
  },
});
