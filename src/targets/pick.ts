/** Seeded picks of a target's members: `count` of them, or `percent` (rounded up), else all. */
import type { Prng } from '../load/prng.ts';

export function pick<T>(items: readonly T[], how: { count?: number; percent?: number }, prng: Prng): T[] {
  let n = items.length;
  if (how.count !== undefined) n = Math.min(how.count, items.length);
  else if (how.percent !== undefined)
    n = Math.min(items.length, Math.max(1, Math.ceil(items.length * how.percent)));
  const pool = [...items];
  // Partial Fisher–Yates: the first n of a seeded shuffle.
  for (let i = 0; i < n; i++) {
    const j = i + prng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}
