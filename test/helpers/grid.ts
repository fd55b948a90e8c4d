/**
 * MOBILENET_TEST_GRID=reduced runs the configuration sweeps (parity, precision) on a few corners
 * instead of every α×ρ: the sanitizer run (scripts/asan-test.sh) uses it to fit in CI's time.
 * `npm test` always runs the full grid.
 */
export const reducedGrid = process.env.MOBILENET_TEST_GRID === 'reduced';

if (process.env.MOBILENET_TEST_GRID !== undefined && !reducedGrid) {
  throw new Error(`MOBILENET_TEST_GRID=${process.env.MOBILENET_TEST_GRID}: expected 'reduced' or unset`);
}
if (reducedGrid) console.log('  MOBILENET_TEST_GRID=reduced: the parity and precision sweeps run a few α×ρ, not all 16');

/** The α×ρ pairs of a sweep: every pair of the full grid, or the smallest, the largest and one between. */
export function alphaResolutionGrid(alphas: readonly number[], resolutions: readonly number[]): Array<[number, number]> {
  const all = alphas.flatMap((a) => resolutions.map((r): [number, number] => [a, r]));
  if (!reducedGrid) return all;
  const key = ([a, r]: [number, number]) => a * r;
  const sorted = [...all].sort((x, y) => key(x) - key(y));
  return [sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1]];
}
