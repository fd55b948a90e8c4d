/**
 * The compiled addon, loaded once: a local build (build/Release, from cmake-js or `npm rebuild`),
 * else the prebuild shipped in the package (prebuilds/linux-x64), else wherever `bindings` finds one.
 */
import bindings from 'bindings';
import * as os from 'os';
import * as path from 'path';
import type { WaitPolicy } from './engine-options';
import { addonOverride, userSetsOmpWait, withOmpWaitPolicy } from './env';
import { MobileNetError } from './errors';
import type { OutputKind } from './model';
import type { ArchSpec } from './spec';

export interface NativeModel {
  /** Copies `input` before it returns (a later resize, transfer or write cannot reach the pass); rejects NaN/±Inf unless allowNonFinite. */
  infer(input: Float32Array, batch: number, output: OutputKind, allowNonFinite?: boolean): Promise<Float32Array>;
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
  /** The limits the addon checks calls against (lib/core/limits.ts). */
  limits?: { batch: number; profileBatch: number; profileRuns: number };
  /** EngineOptions less waitPolicy (applied when the addon loads), validated by lib/core/engine-options.ts. */
  engine?: { layout?: string; fuseDepthwise?: boolean; nhwcMaxBatch?: number; hugePages?: boolean };
}

export interface NativeLayer {
  name: string; type: string; kernel: number; stride: number; inChannels: number; outChannels: number;
  inSize: number; outSize: number; padBefore: number; padAfter: number; macs: number; params: number;
}

export interface NativeAddon {
  Model: new (arch: ArchSpec, tensors: Float32Array[], options: NativeModelOptions) => NativeModel;
  specLayers(arch: ArchSpec): NativeLayer[];
  /** TF bilinear resize + normalise of 8-bit pixels into out[outOffset…] (native/image/resize.cc), on libuv's pool. */
  resizeInto(src: Uint8Array, height: number, width: number, channels: number, crop: [number, number, number, number],
    outHeight: number, outWidth: number, mode: 'tfjs' | 'center-crop', out: Float32Array, outOffset: number): Promise<void>;
  resizeIntoSync(src: Uint8Array, height: number, width: number, channels: number, crop: [number, number, number, number],
    outHeight: number, outWidth: number, mode: 'tfjs' | 'center-crop', out: Float32Array, outOffset: number): void;
  /**
   * A baseline JPEG decoded at 1/shrink and resized into out[outOffset…] in one job on libuv's pool
   * (native/image/jpeg.h). Resolves '' when written, else why the image needs the general decoder.
   */
  decodeJpegInto(bytes: Uint8Array, shrink: 1 | 2 | 4 | 8, maxPixels: number, outHeight: number, outWidth: number,
    mode: 'tfjs' | 'center-crop', out: Float32Array, outOffset: number): Promise<string>;
  /** glibc malloc_trim(0): hands freed heap memory back to the OS; false where there is nothing to trim or no glibc. */
  trimMemory?(): boolean;
  info(): {
    onednn: string; cpuRuntime: string; isa: number; isaName?: string;
    /** Per precision: '' where it runs on JIT kernels, else why it is refused. */
    precisionUnsupported?: Record<string, string>;
    precisionNotes?: Record<string, string>;
  };
}

let addon: NativeAddon | undefined;
let waitPolicyInEffect: 'active' | 'passive' | 'default' = 'default';

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');
const ADDON_FILE = 'mobilenet_native.node';

/**
 * Where the addon is looked for, in order. A local build wins over the prebuild, as in node-gyp-build
 * (the package's install script): it exists only when someone built from source on purpose.
 */
export function addonCandidates(root = PACKAGE_ROOT): string[] {
  const override = addonOverride();  // another build, e.g. build-asan/Release/... for `npm run test:asan`
  if (override) return [path.resolve(override)];
  return [path.join(root, 'build', 'Release', ADDON_FILE), path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, ADDON_FILE)];
}

/** Loads the first candidate that exists and loads; the error lists every path tried and why each failed. */
export function loadAddon(root = PACKAGE_ROOT): NativeAddon {
  const tried: string[] = [];
  const candidates = addonCandidates(root);
  for (const file of candidates) {
    try {
      return require(file) as NativeAddon; // eslint-disable-line @typescript-eslint/no-require-imports
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const absent = err.code === 'MODULE_NOT_FOUND' && err.message.includes(file);
      tried.push(`${file}: ${absent ? 'not found' : err.message}`);
    }
  }
  if (!addonOverride()) {
    try {
      return bindings({ bindings: ADDON_FILE, module_root: root }) as NativeAddon;
    } catch (e) {
      // bindings' message is "Could not locate the bindings file. Tried:" and one " → path" line per path.
      const lines = (e as Error).message.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('→'));
      const seen = new Set(candidates);
      for (const l of lines) if (!seen.has(l.slice(1).trim())) tried.push(`${l.slice(1).trim()}: not found (bindings)`);
      if (lines.length === 0) tried.push(`bindings: ${(e as Error).message}`);
    }
  }
  throw new MobileNetError('ERR_UNSUPPORTED', [
    `the native engine (${ADDON_FILE}) cannot load on ${process.platform}-${process.arch}, Node ${process.versions.node}.`,
    'The package ships a prebuild for linux-x64 with glibc ≥ 2.34; elsewhere it compiles at install time, which needs',
    'g++, make, python3 and oneDNN 2.x (Debian/Ubuntu: sudo apt-get install -y libdnnl-dev). To build it now:',
    '  npm rebuild mobilenet-native        (npm, also after installing with --ignore-scripts)',
    '  pnpm approve-builds && pnpm rebuild  (pnpm 10 skips build scripts until they are approved)',
    'Tried:',
    ...tried.map((t) => `  ${t}`),
  ].join('\n'));
}

/**
 * libgomp's wait policy for `policy`. Spinning (libgomp's default, ~300 000 rounds at each barrier)
 * wins with spare cores and collapses when they are oversubscribed, so 'auto' is passive only when
 * the load average says so, and a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins over 'auto'.
 */
function chooseWaitPolicy(policy: WaitPolicy): 'active' | 'passive' | 'default' {
  if (policy !== 'auto') return policy;
  if (userSetsOmpWait()) return 'default';
  return os.loadavg()[0] > 2 * os.availableParallelism() ? 'passive' : 'default';
}

/**
 * The addon, loaded on first use. libgomp reads OMP_WAIT_POLICY once, when the addon's libdnnl
 * pulls it in, and OpenMP has no call that changes the wait policy afterwards, so `waitPolicy` is
 * applied here, before the first load (env.ts sets the variable for that moment only).
 */
export function native(waitPolicy: WaitPolicy = 'auto'): NativeAddon {
  if (!addon) {
    const chosen = chooseWaitPolicy(waitPolicy);
    addon = withOmpWaitPolicy(chosen, loadAddon);
    waitPolicyInEffect = chosen;
  } else if (waitPolicy !== 'auto' && waitPolicy !== waitPolicyInEffect) {
    throw new MobileNetError('ERR_UNSUPPORTED',
      `engine.waitPolicy '${waitPolicy}' cannot take effect: OpenMP read its wait policy when the engine was first loaded in this process (${waitPolicyInEffect === 'default' ? 'its default or OMP_WAIT_POLICY' : `'${waitPolicyInEffect}'`})`);
  }
  return addon;
}
