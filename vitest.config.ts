import { configDefaults, defineConfig } from 'vitest/config';
import { COMPILE_CACHE_ENV } from './test/support/compile-cache.ts';

// vitest starts a worker process per test file; they inherit the compile cache from here.
Object.assign(process.env, COMPILE_CACHE_ENV);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/cluster needs a real API server (KUBECONFIG): only `npm run test:cluster` runs it.
    // test/e2e/*.e2e.test.ts too (a real cluster, KUBECONFIG): only `npm run test:e2e` runs them, with test/e2e/vitest.config.ts.
    exclude: [...configDefaults.exclude, ...(process.env.GITSYNC_INJECTOR_CLUSTER_TESTS ? [] : ['test/cluster/**']), 'test/e2e/**/*.e2e.test.ts'],
    // Integration tests start HTTPS servers and spawn kubectl; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
