/**
 * How a batch job or a server shares the machine's cores between image decoding (libuv's pool:
 * sharp/libvips, the native resize) and the engine's OpenMP team, so they do not fight:
 *
 * - The engine gets every core (`threads`): inference is most of the CPU time of the whole job on
 *   ImageNet-size photos (bench:pipeline --profile), and its threads sleep between passes.
 * - Decoders run `decoders` images at a time, each with one libvips thread (sharp.concurrency(1)):
 *   the pipeline is parallel across images already, and per-image threads only add switches.
 *   Enough are in flight to keep decoding ahead of inference while a pass runs: cores + 1
 *   (the +1 covers the file read and the resize job queued behind a decode).
 * - libuv's pool holds the decoders plus one thread for file reads and resizes
 *   (UV_THREADPOOL_SIZE, read when the pool first starts: set at CLI start-up).
 * - OpenMP threads wait passively (OMP_WAIT_POLICY=passive): with decoders running on the same
 *   cores, a spinning team steals their time, and a preempted team member stalls every barrier.
 *
 * `--threads` and `--concurrency` (or the options of runBatch / createServer) override the sizes;
 * a user's own OMP_WAIT_POLICY, GOMP_SPINCOUNT, UV_THREADPOOL_SIZE or VIPS_CONCURRENCY always wins.
 */
import * as os from 'os';
import { setDecoderThreads } from '../core';

export interface CoreBudget {
  cores: number;
  /** OpenMP threads of the engine. */
  threads: number;
  /** Images decoded at once. */
  decoders: number;
  /** libuv pool size asked for (applies only if set before the pool starts). */
  uvThreads: number;
  /** libvips threads per image. */
  vipsThreads: number;
  ompWaitPolicy: 'passive';
}

export function coreBudget(overrides: { threads?: number; concurrency?: number; cores?: number } = {}): CoreBudget {
  const cores = overrides.cores ?? os.availableParallelism();
  const threads = overrides.threads ?? cores;
  const decoders = overrides.concurrency ?? cores + 1;
  return { cores, threads, decoders, uvThreads: decoders + 1, vipsThreads: 1, ompWaitPolicy: 'passive' };
}

/**
 * Applies the process-wide parts of a budget: call it before the model is loaded and before any
 * asynchronous file or image work (libuv sizes its pool once; libgomp reads its policy once).
 * Returns the settings it applied, for a log line.
 */
export function applyCoreBudget(b: CoreBudget): string[] {
  const applied: string[] = [];
  if (process.env.UV_THREADPOOL_SIZE === undefined) {
    process.env.UV_THREADPOOL_SIZE = String(b.uvThreads);
    applied.push(`UV_THREADPOOL_SIZE=${b.uvThreads}`);
  }
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.OMP_WAIT_POLICY = b.ompWaitPolicy;
    applied.push(`OMP_WAIT_POLICY=${b.ompWaitPolicy}`);
  }
  if (process.env.VIPS_CONCURRENCY === undefined) {
    setDecoderThreads(b.vipsThreads);  // lazily: an --omit=optional install has no sharp binary
    applied.push(`sharp.concurrency(${b.vipsThreads})`);
  }
  applied.push(`engine threads ${b.threads}`, `decoders ${b.decoders}`);
  return applied;
}
