/**
 * Seeded random weights: for tests and benchmarks of any (α, resolution, variant) without files.
 * Kernels are He-normal (std √(2/fan_in)) so the ReLU6 activations stay O(1) through every layer,
 * and the BN statistics are deliberately far from identity so a wrong BN fold cannot go unnoticed.
 */
import { ArchSpec, validateArch, weightedLayers } from '../spec';
import { MobileNetError } from '../errors';
import { ModelWeights, expectedTensors } from './types';

/** mulberry32: tiny, fast, and good enough for weights; the same seed gives the same stream everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomWeights(arch: ArchSpec, seed: number): ModelWeights {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new MobileNetError('ERR_INVALID_ARGUMENT', `seed must be an integer from 0 to 2^32-1, got ${String(seed)}`);
  validateArch(arch);
  const uniform = mulberry32(seed);
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // Box–Muller; 1 - u keeps the logarithm finite.
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const fill = (n: number, f: () => number): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = f();
    return a;
  };
  const between = (lo: number, hi: number) => () => lo + (hi - lo) * uniform();

  const tensors = new Map<string, Float32Array>();
  for (const { name, shape } of expectedTensors(weightedLayers(arch))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const [layer, part] = name.split('/');
    let data: Float32Array;
    if (part === 'kernel' || part === 'depthwise_kernel') {
      // HWIO / HWIM: fan-in is k·k·cin for a full conv, k·k for a depthwise one.
      const fanIn = part === 'depthwise_kernel' ? shape[0] * shape[1] : shape[0] * shape[1] * shape[2];
      // The classifier feeds a softmax, not a ReLU: unit variance keeps logits moderate.
      const std = Math.sqrt((layer === 'conv_preds' ? 1 : 2) / fanIn);
      data = fill(n, () => std * normal());
    } else if (part === 'bias') data = fill(n, between(-0.1, 0.1));
    else if (part === 'gamma') data = fill(n, between(0.5, 1.5));
    else if (part === 'beta') data = fill(n, between(-0.2, 0.2));
    else if (part === 'moving_mean') data = fill(n, () => 0.1 * normal());
    else if (part === 'moving_variance') data = fill(n, between(0.5, 2));
    else throw new Error(`unexpected tensor ${name}`);
    tensors.set(name, data);
  }
  return { arch: { ...arch }, tensors, source: `random(seed=${seed})`, format: 'random' };
}
