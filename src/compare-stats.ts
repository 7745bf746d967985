/**
 * The two tests `chaos compare` judges regressions with (docs/ci.md "Regressions"), as pure
 * functions over plain numbers:
 * - a one-sided Mann-Whitney U test over per-second statistics (is the new run's p50 or p99
 *   typically higher than the old run's?), normal approximation with tie and continuity
 *   corrections;
 * - a one-sided two-proportion test for the error rate whose variance also counts how much the
 *   rate varies from second to second, since errors come in bursts, not one request at a time.
 */

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** P(Z ≥ z) for a standard normal Z (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * One-sided p-value that values in `y` tend to be larger than values in `x` (Mann-Whitney U).
 * 1 when either side is empty or every value is the same.
 */
export function mannWhitneyGreater(x: readonly number[], y: readonly number[]): number {
  const n1 = x.length,
    n2 = y.length;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...x.map((v) => ({ v, y: false })), ...y.map((v) => ({ v, y: true }))].sort(
    (a, b) => a.v - b.v,
  );
  const n = all.length;
  let rankSumY = 0;
  let ties = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j + 2) / 2; // mid-rank of positions i..j (1-based)
    for (let k = i; k <= j; k++) if (all[k]!.y) rankSumY += rank;
    const t = j - i + 1;
    ties += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumY - (n2 * (n2 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return 1;
  return normalUpperTail((u - mean - 0.5) / Math.sqrt(variance));
}

/** Failed and total requests of one second. */
export interface SecondCount {
  failed: number;
  total: number;
}

export interface RateSummary {
  requests: number;
  failed: number;
  /** failed / requests; null without requests. */
  rate: number | null;
}

export function rateOf(seconds: readonly SecondCount[]): RateSummary {
  let failed = 0,
    requests = 0;
  for (const s of seconds) {
    failed += s.failed;
    requests += s.total;
  }
  return { requests, failed, rate: requests ? failed / requests : null };
}

/**
 * Variance of a run's error rate with seconds as clusters: how far each second's failures are
 * from what the run's overall rate predicts for it. Large when errors come in bursts.
 */
function clusterVariance(seconds: readonly SecondCount[], r: RateSummary): number {
  const used = seconds.filter((s) => s.total > 0);
  const k = used.length;
  if (k < 2 || !r.requests || r.rate === null) return 0;
  let ss = 0;
  for (const s of used) ss += (s.failed - r.rate * s.total) ** 2;
  return ((k / (k - 1)) * ss) / r.requests ** 2;
}

/**
 * One-sided p-value that the new run's error rate is higher than the old run's: a two-proportion
 * z test whose variance is the larger of the pooled binomial one and the per-second cluster one,
 * so it is never more confident than the plain test and much less when errors came in bursts.
 */
export function errorRateGreater(old: readonly SecondCount[], now: readonly SecondCount[]): number {
  const a = rateOf(old),
    b = rateOf(now);
  if (a.rate === null || b.rate === null) return 1;
  const pooled = (a.failed + b.failed) / (a.requests + b.requests);
  const binomial = pooled * (1 - pooled) * (1 / a.requests + 1 / b.requests);
  const variance = Math.max(binomial, clusterVariance(old, a) + clusterVariance(now, b));
  if (!(variance > 0)) return 1;
  return normalUpperTail((b.rate - a.rate) / Math.sqrt(variance));
}
