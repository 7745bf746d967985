import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests bind real loopback ports and spawn real processes; two workers keep a 2-core box responsive.
    pool: 'forks',
    maxWorkers: 2,
  },
});
