/**
 * How much worse a run may be than the previous one before `chaos compare` calls it a
 * regression. Latency and error rate must also be worse beyond the runs' own noise (src/compare.ts,
 * docs/ci.md "Regressions"); these are the minimum effects that count.
 */
export interface Tolerances {
  /** Resilience-score points the new run may lose. */
  maxScoreDrop: number;
  /** How much a phase's typical per-second p50 or p99 may rise, as a fraction (0.5 = up to 1.5x). */
  maxLatencyIncrease: number;
  /** A latency rise of at most this many milliseconds is never a regression, whatever the ratio. */
  latencyFloorMs: number;
  /** How much a phase's error rate may rise, as a fraction of requests (0.01 = 1 point). */
  maxErrorRateIncrease: number;
  /** Milliseconds a fault's time to recover may grow by. */
  maxTtrIncreaseMs: number;
}

export const DEFAULT_TOLERANCES: Tolerances = {
  maxScoreDrop: 5,
  maxLatencyIncrease: 0.5,
  latencyFloorMs: 2,
  maxErrorRateIncrease: 0.01,
  maxTtrIncreaseMs: 2000,
};
