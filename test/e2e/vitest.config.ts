/**
 * The end-to-end suite's own configuration (`npm run test:e2e` runs it
 * through test/e2e/run.ts): the cluster tests, one file at a time, with the
 * patience a real API server needs. The default `vitest run` never includes
 * them (vitest.config.ts excludes *.e2e.test.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/e2e/**/*.e2e.test.ts'],
    // Both modes create objects in the same cluster: never at the same time.
    fileParallelism: false,
    testTimeout: 180_000,
    // Setup installs and rolls out the webhook; cleanup waits for deletions.
    hookTimeout: 600_000,
  },
});
