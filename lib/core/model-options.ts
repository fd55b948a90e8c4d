/**
 * The options of load() and of the model's methods, and their checks: the boundary where every
 * argument a caller can get wrong is refused, before anything reaches native code.
 */
import { checkEngineOptions, type EngineOptions } from './engine-options';
import { fail } from './errors';
import type { Preprocess } from './image';
import { checkDecodeMode, type DecodeMode } from './image-stage';
import { LIMITS } from './limits';
import type { ChannelRule, PaddingMode, Variant } from './spec';
import * as v from './validate';
import type { FetchOptions } from './weights/download';
import type { ModelWeights } from './weights/types';

export const OUTPUT_KINDS = ['probabilities', 'logits', 'embedding'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export interface LoadOptions {
  /** A weight file or directory (TF.js model.json, TF-slim .pb, .safetensors), 'random', or a ModelWeights object. Default: the bundled α=0.25/224 TF.js model. */
  weights?: string | ModelWeights;
  /** Width multiplier α in (0, 1]. With file weights it must match the file. */
  alpha?: number;
  /** Input side in pixels (≥ 32). With file weights it may differ from the training resolution: the network is fully convolutional. */
  resolution?: number;
  /** Classifier outputs (random weights only; files carry their own). */
  classes?: number;
  /** Seed of the random weights. */
  seed?: number;
  channelRule?: ChannelRule;
  padding?: PaddingMode;
  bnEpsilon?: number;
  variant?: Variant;
  /** OpenMP threads of this model's executor (default: all cores). */
  threads?: number;
  /** Most images merged into one forward pass by the executor (default 32). */
  maxBatch?: number;
  /** How long a lone request waits for others to batch with (default 0: never waits). */
  maxWaitMs?: number;
  /** Default preprocessing of classify/embed (default 'tfjs'). */
  preprocess?: Preprocess;
  /** 'auto' (default) shrinks large JPEGs while decoding; 'full' decodes every pixel (lib/core/image-stage.ts). */
  decode?: DecodeMode;
  /** Decompression-bomb guard for images, in pixels (default 100 M). */
  maxPixels?: number;
  /**
   * Numeric mode (default 'fp32'). 'bf16': bf16 weights and activations, f32 accumulation, f32
   * classifier and softmax; needs AVX-512 (ERR_UNSUPPORTED otherwise). 'int8': s8 per-channel
   * weights, u8 activations, f32 pool/classifier/softmax. See README "Reduced precision".
   */
  precision?: Precision;
  /** int8 only: a file from `mobilenet quantize`; without it every layer uses the ReLU6 range [0, 6]. */
  calibration?: string;
  /** Record each conv layer's largest output (fp32 only), read by activationMaxima(); used by `mobilenet quantize`. */
  collectActivationStats?: boolean;
  /** Engine tuning (layouts, fusion, huge pages, OpenMP wait policy); the defaults are the measured best per CPU. */
  engine?: EngineOptions;
  /**
   * Without `weights`: download the official (alpha, resolution) release into the cache when it is
   * not there yet, as `mobilenet fetch` does. An object passes FetchOptions (onProgress, home, baseUrl, …).
   */
  download?: boolean | FetchOptions;
}

export const PRECISIONS = ['fp32', 'bf16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface ProfileOptions {
  /** Images per forward pass (default 1). */
  batch?: number;
  /** Timed repetitions; each layer reports its median (default 10). */
  runs?: number;
}

export interface LayerProfile {
  name: string;
  /** conv, dw, pw, pool, fc, softmax (as in buildLayers). */
  type: string;
  /** Mult-adds of one image (paper counting). */
  macs: number;
  /** Median time of the layer's primitives for the whole batch, layout reorders included. */
  ms: number;
  /** oneDNN implementation name of the layer's main primitive. */
  kernel: string;
  /** Of ms, the time spent in a layout reorder belonging to this layer (0 if none). */
  reorderMs: number;
  reorderKernel: string;
}

export interface ModelProfile {
  batch: number;
  runs: number;
  layers: LayerProfile[];
  /** Sum of the layers' ms (each primitive timed alone, so it includes a sync per primitive). */
  totalMs: number;
  /** Median of whole forward passes run back to back. */
  forwardMs: number;
  /** Mult-adds of one image. */
  macs: number;
}

export interface InferOptions {
  output?: OutputKind;
  /** Run inputs holding NaN or ±Infinity instead of rejecting them with ERR_INVALID_ARGUMENT (default false). */
  allowNonFinite?: boolean;
  /** Aborting rejects the call with signal.reason at once; a pass already queued still runs, its result unused. */
  signal?: AbortSignal;
}

export interface ClassifyOptions {
  topk?: number;
  preprocess?: Preprocess;
  /** As in InferOptions; checked again between decoding and the forward pass. */
  signal?: AbortSignal;
}

export interface EmbedOptions {
  preprocess?: Preprocess;
  signal?: AbortSignal;
}

/** prepare(): what classify() would feed the network, optionally written into a row of a caller's batch buffer. */
export interface ModelPrepareOptions {
  /** Default: the model's (load({ preprocess })). */
  preprocess?: Preprocess;
  /** Default: the model's (load({ decode })). */
  decode?: DecodeMode;
  /** A caller's pixel limit; it can only tighten the model's maxPixels. */
  maxPixels?: number;
  /** Time limit of one decode in seconds (ERR_DECODE_TIMEOUT). */
  timeoutSeconds?: number;
  /** The file that encoded bytes were read from: a large JPEG is then decoded from it at 1/s (lib/core/image-stage.ts). */
  sourceFile?: string;
  /** Write the image here at `offset` (R·R·3 floats, e.g. a batch row) instead of a new array: no copy. One image only. */
  out?: Float32Array;
  offset?: number;
}

const KNOWN_LOAD_OPTIONS = new Set(['weights', 'alpha', 'resolution', 'classes', 'seed', 'channelRule', 'padding', 'bnEpsilon', 'variant', 'threads', 'maxBatch', 'maxWaitMs', 'preprocess', 'decode', 'maxPixels', 'precision', 'calibration', 'collectActivationStats', 'download', 'engine']);

export const INFER_OPTIONS = ['output', 'allowNonFinite', 'signal'];
export const CLASSIFY_OPTIONS = ['topk', 'preprocess', 'signal'];
export const EMBED_OPTIONS = ['preprocess', 'signal'];
export const PREPARE_OPTIONS = ['preprocess', 'decode', 'maxPixels', 'timeoutSeconds', 'sourceFile', 'out', 'offset'];

/** An options object with only known keys (a misspelt one, e.g. topK, would otherwise be ignored). */
export function checkOptions(options: unknown, method: string, known: readonly string[]): void {
  v.plainObject(options, `${method}() options`);
  // for-in, not Object.keys: infer() runs this per call, and allocating there grew RSS (V8's young generation).
  for (const key in options as object) {
    if (!Object.prototype.hasOwnProperty.call(options, key) || known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    fail('ERR_INVALID_ARGUMENT', `unknown ${method}() option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; known: ${known.join(', ')}`);
  }
}

export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) v.invalid('an AbortSignal', 'signal', signal);
  (signal as AbortSignal).throwIfAborted();
  return signal as AbortSignal;
}

/** Settles with `work`, or rejects with signal.reason as soon as the signal aborts. */
export function abortable<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Checks load()'s options (all but the weights themselves). */
export function checkLoadOptions(options: LoadOptions): void {
  v.knownKeys(v.plainObject(options, 'load() options'), 'load() option', KNOWN_LOAD_OPTIONS);
  v.optional(options.alpha, (a) => v.number(a, 'alpha', 0, 1, true));
  v.optional(options.resolution, (r) => v.int(r, 'resolution', LIMITS.resolution.min, LIMITS.resolution.max));
  v.optional(options.classes, (c) => v.int(c, 'classes', 1, LIMITS.classes));
  v.optional(options.seed, (x) => v.int(x, 'seed', 0, 2 ** 32 - 1));
  v.optional(options.bnEpsilon, (e) => v.number(e, 'bnEpsilon', 0, 1));
  v.optional(options.threads, (t) => v.int(t, 'threads', 1, LIMITS.threads));
  v.optional(options.maxBatch, (b) => v.int(b, 'maxBatch', 1, LIMITS.maxBatch));
  v.optional(options.maxWaitMs, (w) => v.number(w, 'maxWaitMs', 0, LIMITS.maxWaitMs));
  v.optional(options.maxPixels, (m) => v.number(m, 'maxPixels', 1, Number.MAX_SAFE_INTEGER));
  v.optional(options.preprocess, (x) => v.preprocess(x));
  checkDecodeMode(options.decode);
  checkEngineOptions(options.engine);
  const d = options.download;
  if (!(d === undefined || typeof d === 'boolean' || (typeof d === 'object' && d !== null && !Array.isArray(d)))) v.invalid('a boolean or FetchOptions', 'download', d);
  if (d && options.weights !== undefined) v.invalid('no weights with download (it fetches the official release)', 'weights', options.weights);
  const p = v.optional(options.precision, (x) => v.oneOf(x, 'precision', PRECISIONS));
  if (options.calibration !== undefined && p !== 'int8') v.invalid("precision 'int8' with calibration", 'precision', p ?? 'fp32');
  if (options.collectActivationStats && (p ?? 'fp32') !== 'fp32') v.invalid("precision 'fp32' with collectActivationStats", 'precision', p);
}
