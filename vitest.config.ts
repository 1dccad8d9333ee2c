import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['local/quiet-node-version-warning.ts'],
    // A private TMPDIR per run, removed at the end; fails the run if anything leaked into the real temp dir.
    globalSetup: ['test/support/temp-dir-guard.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
