import { defineConfig } from 'vitest/config';

/**
 * Two projects, one after the other (`sequence.groupOrder`): on a 2-core machine the unit
 * workers and three Docker engines would otherwise compete, and every timing in the Docker
 * tests would get worse. The orders start at 1, not 0: vitest moves a single-worker project of
 * order 0 (the unit project on 2 cores) into a group of its own that runs last.
 * - `unit` (first): plain-data and loopback tests, no Docker, fast, in parallel;
 * - `docker` (then): everything under test/ plus any `*.docker.test.ts` — these get the real
 *   Docker engines, registry and images from the global setup (test/harness/global-setup.ts).
 */
const dockerTests = ['test/**/*.test.ts', '**/*.docker.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'agent/**/*.test.ts', 'tui/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.docker.test.ts'],
          testTimeout: 30_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'docker',
          include: dockerTests,
          exclude: ['**/node_modules/**', 'dist/**'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // The engines are shared; running files in parallel on a 2-core machine only makes
          // them slower and the tests flakier.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          globalSetup: ['test/harness/global-setup.ts'],
        },
      },
    ],
  },
});
