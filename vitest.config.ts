import { defineConfig } from 'vitest/config';

/**
 * Files whose assertions measure time or a machine-wide resource: real containers and network
 * namespaces, CPU used by holder processes, send lag and rates, toxic timings, stop latency. They
 * run one after another, after the rest, so nothing else on the machine skews them.
 */
const EXCLUSIVE = [
  'test/faults/**/*.test.ts',
  'test/load/**/*.test.ts',
  'test/proxy/**/*.test.ts',
  'test/e2e/safety.test.ts',
  'test/e2e/stops.test.ts',
  'test/safety/**/*.test.ts',
  'test/targets/process-picks.test.ts',
  'test/observe/**/*.test.ts',
];

const shared = {
  // The store throws on a broken accounting invariant instead of warning (src/metrics/store.ts).
  env: { CHAOSKIT_STRICT_ACCOUNTING: '1' },
  testTimeout: 90_000,
  hookTimeout: 180_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        // Every file here allocates its own ports and temporary directories (test/helpers), so
        // two can run at once.
        test: {
          ...shared,
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: EXCLUSIVE,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'exclusive',
          include: EXCLUSIVE,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
