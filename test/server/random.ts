// A seeded PRNG for the fuzz suites: the same cases on every run.

/** xorshift32 over a seed; each call returns a number in [0, 1). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}
