/** The compiled addon, loaded once through `bindings` (build/Release/mobilenet_native.node). */
import bindings from 'bindings';
import * as os from 'os';
import * as path from 'path';
import { MobileNetError } from './errors';

export type NativeOutput = 'probabilities' | 'logits' | 'embedding';

export interface NativeArch {
  alpha: number;
  resolution: number;
  classes: number;
  channelRule: string;
  padding: string;
  bnEpsilon: number;
  variant: string;
}

export interface NativeModel {
  infer(input: Float32Array, batch: number, output: NativeOutput): Promise<Float32Array>;
  /** Queued calls wait while the executor is held (counted); release() lets them run, merged. */
  hold(): void;
  release(): void;
  dispose(): void;
  stats(): { batches?: number; images?: number; jobs?: number; queueDepth?: number; pending: number };
  /** Times each primitive of the batch-`batch` plan alone, `runs` times, on the executor thread. */
  profile(batch: number, runs: number): Promise<NativeProfile>;
  /** Per conv layer, the largest output seen (models created with collectStats). */
  activationMax(): Float32Array;
}

export interface NativeProfile {
  /** One row per layer of the spec, in order; ms = sum of the medians of its primitives (reorders included). */
  layers: Array<{ name: string; type: string; macs: number; ms: number; kernel: string; reorderMs: number; reorderKernel: string }>;
  /** Median of whole forward passes (primitives back to back, no wait between them). */
  forwardMs: number;
  batch: number;
  runs: number;
}

export interface NativeModelOptions {
  threads: number;
  maxBatch: number;
  maxWaitUs: number;
  precision?: 'fp32' | 'bf16' | 'int8';
  /** int8: per conv layer, the output range to quantise (default 6, the ReLU6 bound). */
  activationMax?: Float32Array;
  collectStats?: boolean;
  /** Measurement only: build a precision even where it would fall to slow paths. */
  allowSlowPaths?: boolean;
}

export interface NativeLayer {
  name: string; type: string; kernel: number; stride: number; inChannels: number; outChannels: number;
  inSize: number; outSize: number; padBefore: number; padAfter: number; macs: number; params: number;
}

export interface NativeAddon {
  Model: new (arch: NativeArch, tensors: Float32Array[], options: NativeModelOptions) => NativeModel;
  specLayers(arch: NativeArch): NativeLayer[];
  /** TF bilinear resize + normalise of 8-bit pixels into out[outOffset…] (native/image/resize.cc), on libuv's pool. */
  resizeInto(src: Uint8Array, height: number, width: number, channels: number, crop: [number, number, number, number],
    outHeight: number, outWidth: number, mode: 'tfjs' | 'center-crop', out: Float32Array, outOffset: number): Promise<void>;
  resizeIntoSync(src: Uint8Array, height: number, width: number, channels: number, crop: [number, number, number, number],
    outHeight: number, outWidth: number, mode: 'tfjs' | 'center-crop', out: Float32Array, outOffset: number): void;
  info(): {
    onednn: string; cpuRuntime: string; isa: number; isaName?: string;
    /** Per precision: '' where it runs on JIT kernels, else why it is refused. */
    precisionUnsupported?: Record<string, string>;
    precisionNotes?: Record<string, string>;
  };
}

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!addon) {
    // libgomp reads its wait policy once, when the addon's libdnnl pulls it in, so it is decided now.
    // Its default (spin ~300 000 rounds at each barrier, then sleep) wins on a machine with spare
    // cores: measured α=0.25/128 batch 1, 2 threads, 2 cores with ~1.5 cores of other load, medians
    // of 6 alternating runs: 0.46 ms vs 1.02 ms with OMP_WAIT_POLICY=passive (α=1/224: no difference).
    // Spinning collapses only when the cores are oversubscribed (8 jobs on 2 cores, α=0.25/128 batch
    // 32: 56 img/s spinning vs 513 passive), so passive is chosen only when the load average says so.
    // A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins.
    const setPolicy = process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined &&
      os.loadavg()[0] > 2 * os.availableParallelism();
    if (setPolicy) process.env.OMP_WAIT_POLICY = 'passive';
    try {
      // MOBILENET_NATIVE_PATH picks another build of the addon (e.g. build-asan/Release/mobilenet_native.node for `npm run test:asan`).
      const override = process.env.MOBILENET_NATIVE_PATH;
      addon = (override
        ? require(path.resolve(override)) // eslint-disable-line @typescript-eslint/no-require-imports
        : bindings({ bindings: 'mobilenet_native', module_root: path.resolve(__dirname, '..', '..') })) as NativeAddon;
    } catch (e) {
      throw new MobileNetError(
        'ERR_UNSUPPORTED',
        `the native engine is not built or cannot load (${(e as Error).message.split('\n')[0]}); run \`npm run build\` (needs libdnnl-dev)`,
        { cause: e },
      );
    } finally {
      // Already read; child processes the user starts should not inherit our choice.
      if (setPolicy) delete process.env.OMP_WAIT_POLICY;
    }
  }
  return addon;
}
