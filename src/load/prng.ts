/** One seeded PRNG per run (sfc32 seeded through splitmix32): arrivals, request picks, fault picks. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Exponential with mean 1. */
  exp(): number;
  /** A child generator with its own stream, so one consumer cannot shift another's sequence. */
  fork(label: string): Prng;
}

export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(),
    b = splitmix(),
    c = splitmix(),
    d = splitmix();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    exp: () => -Math.log(1 - next()),
    fork: (label) => {
      let h = seed >>> 0;
      for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
      return createPrng(h);
    },
  };
}

/** A fresh seed when the user gave none; recorded in the result so `--seed` replays the run. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
