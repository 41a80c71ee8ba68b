import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/cluster: what only the multi-service Temporal cluster has (`npm run test:cluster`), so neither run
    // skips a test.
    include: ['test/**/*.test.ts'],
    exclude: process.env.HOLDFAST_TEMPORAL === 'cluster' ? [] : ['test/cluster/**'],
    // Real Temporal and FerretDB servers, started once for the whole run.
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
