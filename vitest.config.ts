import { defineConfig } from 'vitest/config';

/**
 * How the suite shares this 2-core machine, by what each file was measured to cost (its own CPU
 * and the whole machine's busy time over its life; docs/architecture.md, "The test suite"):
 * - parallel: files that use only their own ports and temporary directories and assert no tight
 *   timing; most of them wait on child processes, so three run at once;
 * - timed: files that measure time but mostly wait on it (a paced engine at a few hundred
 *   requests/s, a toxic's delay, a lease or heartbeat TTL running out): each keeps the machine
 *   about 20% busy, so three at once still leave each its timers to itself;
 * - exclusive: files that measure time while they keep a core busy themselves (real containers
 *   and namespaces, CLI runs with their guards and demo systems, Chromium, a load generator at
 *   full speed, CPU-stress holders): one at a time, last.
 */
const EXCLUSIVE = [
  'test/e2e/safety.test.ts',
  'test/e2e/stops.test.ts',
  'test/e2e/prometheus.test.ts',
  'test/faults/docker-scenarios.test.ts',
  'test/faults/docker-faults.test.ts',
  'test/faults/docker-guard.test.ts',
  'test/faults/host-faults.test.ts',
  'test/observe/dashboard-page.test.ts',
  'test/observe/flags.test.ts',
  'test/load/autocannon-engine.test.ts',
  'test/proxy/stock-client.test.ts',
  'test/safety/ledger.test.ts',
];

const TIMED = [
  'test/faults/**/*.test.ts',
  'test/load/**/*.test.ts',
  'test/proxy/**/*.test.ts',
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
        test: {
          ...shared,
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: [...TIMED, ...EXCLUSIVE],
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'timed',
          include: TIMED,
          exclude: EXCLUSIVE,
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...shared,
          name: 'exclusive',
          include: EXCLUSIVE,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
