import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'agent/**/*.test.ts', 'tui/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Docker-backed suites share engines started by the global setup; running files in
    // parallel on a 2-core machine only makes the engines slower and the tests flakier.
    fileParallelism: false,
    globalSetup: ['test/harness/global-setup.ts'],
  },
});
