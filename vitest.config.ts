import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The store throws on a broken accounting invariant instead of warning (src/metrics/store.ts).
    env: { CHAOSKIT_STRICT_ACCOUNTING: '1' },
    testTimeout: 90_000,
    hookTimeout: 180_000,
    // Tests bind real loopback ports, spawn real processes (demo systems, proxies, containers) and
    // assert on timing with generous bounds. On a 2-core machine two files at once starve each
    // other's timers, so files run one after another (about 11 minutes in all).
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
