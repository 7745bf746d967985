/** MetricsStore: what a finalised second keeps (the failed-request histogram beside the full one). */
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/core/hist.ts';
import { MetricsStore } from '../../src/metrics/store.ts';

describe('MetricsStore', () => {
  it('keeps the latency of failed requests in their own histogram, a subset of the full one', () => {
    const store = new MetricsStore();
    for (let i = 0; i < 8; i++) {
      store.arrival(i * 100);
      store.send(i * 100, i * 100);
      // Three 503s that took 900 ms, five 200s that took 10 ms; one refused connection at 2 ms.
      store.result(i * 100, i * 100, i * 100 + (i < 3 ? 900 : 10), i < 3 ? 503 : 200, null);
    }
    store.arrival(950);
    store.send(950, 950);
    store.result(950, 950, 952, 0, 'refused');
    store.arrival(1500);
    store.send(1500, 1500);
    store.result(1500, 1500, 1510, 200, null);
    const [s0, s1] = store.timeline(2);
    expect(s0!.failed).toBe(4);
    const failed = decode(s0!.failedHist!);
    const all = decode(s0!.hist!);
    expect(failed.totalCount).toBe(4);
    expect(all.totalCount).toBe(9);
    expect(failed.getValueAtPercentile(100) / 1000).toBeCloseTo(900, -1);
    expect(failed.getValueAtPercentile(25) / 1000).toBeCloseTo(2, 1);
    all.subtract(failed);
    expect(all.getValueAtPercentile(100) / 1000).toBeCloseTo(10, 1);
    expect(s1!.failed).toBe(0);
    expect(s1!.failedHist).toBeNull();
    expect(s1!.hist).not.toBeNull();
  });
});
