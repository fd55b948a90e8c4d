/** Seeded randomness for tests: reproducible inputs without pulling in any heavy module. */

/** mulberry32: tiny, seedable, and good enough for test inputs and weights. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n images of R×R×3 with values uniform in [-1, 1] (NHWC). */
export function uniformImages(n: number, resolution: number, seed: number): Float32Array {
  const rand = prng(seed);
  const x = new Float32Array(n * resolution * resolution * 3);
  for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
  return x;
}
