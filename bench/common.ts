/** What every benchmark child shares: the configuration, the weights, the inputs and the timing loop. */
import { cost, DEFAULT_ARCH, type ArchSpec } from '../lib/core/spec';
import { randomWeights } from '../lib/core/weights';
import type { ModelWeights } from '../lib/core/weights/types';

export const ENGINES = ['mobilenet-native', 'onnxruntime', 'tfjs-wasm', 'tfjs-cpu'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface ChildArgs {
  engine: EngineName;
  alpha: number;
  resolution: number;
  seed: number;
  threads: number;
  quick: boolean;
  /** Images whose probabilities the child returns, for the cross-engine agreement check. */
  checkImages: number;
}

export interface Timing {
  median: number;
  p99: number;
  mean: number;
  runs: number;
}

export interface ChildResult {
  engine: EngineName;
  alpha: number;
  resolution: number;
  loadMs: number;
  firstMs: number;
  batch1?: Timing;
  /** images per second at batch 32 */
  batch32?: { imagesPerSecond: number; msPerBatch: Timing };
  /** images per second of 64 concurrent single-image calls (our engine only) */
  concurrent64?: { imagesPerSecond: number; rounds: number; batches: number };
  rssBaselineMB: number;
  rssAfterLoadMB: number;
  rssPeakMB: number;
  probabilities: number[];
  note?: string;
}

export function archOf(alpha: number, resolution: number): ArchSpec {
  return { ...DEFAULT_ARCH, alpha, resolution };
}

export function benchWeights(a: ChildArgs): ModelWeights {
  return randomWeights(archOf(a.alpha, a.resolution), a.seed);
}

export function macsOf(alpha: number, resolution: number): number {
  return cost(archOf(alpha, resolution)).macs;
}

/** Deterministic inputs in [-1, 1] with per-image offsets, so rows differ after the global pool. */
export function benchInput(n: number, resolution: number, seed = 99): Float32Array {
  const x = new Float32Array(n * resolution * resolution * 3);
  let s = seed >>> 0;
  const per = resolution * resolution * 3;
  for (let r = 0; r < n; r++) {
    const offset = ((r * 0.37) % 1) - 0.5;
    for (let i = 0; i < per; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      x[r * per + i] = Math.max(-1, Math.min(1, offset + 0.5 * ((s / 2 ** 32) * 2 - 1)));
    }
  }
  return x;
}

/** The middle sample (the lower of the two middle ones for an even count, as summarise() reports). */
export function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[(v.length - 1) >> 1];
}

export function summarise(ms: number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, runs: s.length };
}

/** Runs `fn` `warmup` times, then until `maxRuns` runs or `maxSeconds` have passed (at least `minRuns`). */
export async function timeRuns(fn: () => Promise<unknown>, o: { warmup: number; minRuns: number; maxRuns: number; maxSeconds: number }): Promise<Timing> {
  for (let i = 0; i < o.warmup; i++) await fn();
  const ms: number[] = [];
  const start = performance.now();
  while (ms.length < o.minRuns || (ms.length < o.maxRuns && performance.now() - start < o.maxSeconds * 1000)) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return summarise(ms);
}

export const mb = (bytes: number) => bytes / (1024 * 1024);
/** Peak resident set of this process so far (getrusage ru_maxrss). */
export const peakRssMB = () => process.resourceUsage().maxRSS / 1024;
