import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    // Tests bind real loopback ports and spawn real processes; two workers keep a 2-core box responsive.
    pool: 'forks',
    maxWorkers: 2,
  },
});
