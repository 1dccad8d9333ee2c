import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['local/quiet-node-version-warning.ts'],
    // A private TMPDIR per run, removed at the end; fails the run if anything leaked into the real temp dir.
    globalSetup: ['test/support/temp-dir-guard.ts'],
    // Models load in each test process's own worker threads, not in a background model server that would outlive
    // the run (test/local/model-server.test.ts starts its own, in a private folder, and stops it).
    env: { MEDIA_TRIAGE_MODEL_SERVER: 'off' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
