/**
 * Wall-clock measurements of the engine on this machine: latency at batch 1 and throughput at
 * batch 32, medians of a few runs on random inputs (time does not depend on the pixel values or weights).
 */
import { performance } from 'perf_hooks';
import { type MobileNet } from '../../core';

export interface Timing {
  /** Median milliseconds of one image at batch 1. */
  ms1: number;
  /** Images per second at batch 32 (from the median batch time). */
  imgPerSec32: number;
  runs1: number;
  runs32: number;
}

export interface TimingOptions {
  runs1?: number;
  runs32?: number;
  /** Skip batch 32 (NaN throughput) — for very slow models in quick mode. */
  skipBatch32?: boolean;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function randomInput(n: number, r: number): Float32Array {
  const x = new Float32Array(n * r * r * 3);
  // A cheap LCG: reproducible, and Math.random over millions of values would dominate quick runs.
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = s / 2147483648 - 1;
  }
  return x;
}

async function timeBatch(model: MobileNet, n: number, runs: number): Promise<number> {
  const r = model.arch.resolution;
  const x = randomInput(n, r);
  // The first call at a batch size creates its oneDNN primitives; it is not timed.
  await model.infer(x, [n, r, r, 3], { output: 'logits' });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await model.infer(x, [n, r, r, 3], { output: 'logits' });
    times.push(performance.now() - t);
  }
  return median(times);
}

export async function measureTiming(model: MobileNet, options: TimingOptions = {}): Promise<Timing> {
  const runs1 = options.runs1 ?? 7;
  const runs32 = options.skipBatch32 ? 0 : options.runs32 ?? 3;
  const ms1 = await timeBatch(model, 1, runs1);
  const imgPerSec32 = runs32 > 0 ? (32 * 1000) / (await timeBatch(model, 32, runs32)) : NaN;
  return { ms1, imgPerSec32, runs1, runs32 };
}
