/** Seeded randomness for tests: reproducible inputs without pulling in any heavy module. */

import { mulberry32 } from '../../lib/core/weights/random';

/** mulberry32, the generator the library's random weights use. */
export const prng = mulberry32;

/** n images of R×R×3 with values uniform in [-1, 1] (NHWC). */
export function uniformImages(n: number, resolution: number, seed: number): Float32Array {
  const rand = prng(seed);
  const x = new Float32Array(n * resolution * resolution * 3);
  for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
  return x;
}
