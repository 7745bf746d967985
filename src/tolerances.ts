/** How much worse a run may be than the previous one before `chaos compare` calls it a regression. */
export interface Tolerances {
  /** Resilience-score points the new run may lose. */
  maxScoreDrop: number;
  /** How much the p99 latency may rise, as a fraction of the old p99 (0.2 = 20%). */
  maxP99Increase: number;
  /** Milliseconds a fault's time to recover may grow by. */
  maxTtrIncreaseMs: number;
}

export const DEFAULT_TOLERANCES: Tolerances = {
  maxScoreDrop: 5,
  maxP99Increase: 0.2,
  maxTtrIncreaseMs: 2000,
};
