/**
 * The MobileNet model: validates everything a caller can get wrong, then hands plain typed arrays
 * to the native engine. Nothing invalid reaches native code.
 */
import { calibrationMaxima, readCalibration } from './calibration';
import { checkEngineOptions, type EngineOptions } from './engine-options';
import { describe, fail, MobileNetError } from './errors';
import type { FetchOptions } from './weights/download';
import { BUNDLED_WEIGHTS, officialWeights } from './weights/official';
import { DEFAULT_MAX_PIXELS, prepareBatch, prepareImage, prepareImageInto, type ImageInput, type Preprocess } from './image';
import { checkDecodeMode, type DecodeMode } from './image-stage';
import { labelsFor, topK, type ClassScore } from './labels';
import { LIMITS, NATIVE_LIMITS } from './limits';
import { native, type NativeModel } from './native';
import { buildLayers, cost, DEFAULT_ARCH, featureWidth, summarize, validateArch, weightedLayers, type ArchSpec, type ChannelRule, type Cost, type PaddingMode, type SummaryRow, type Variant } from './spec';

export { summarize, type SummaryRow } from './spec';
import { loadWeights, randomWeights } from './weights';
import { expectedTensors, type ModelWeights } from './weights/types';
import * as v from './validate';

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
  /** 'auto' (default) shrinks large JPEGs while decoding; 'full' decodes every pixel (lib/image-stage.ts). */
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
  /** Write the image here at `offset` (R·R·3 floats, e.g. a batch row) instead of a new array: no copy. One image only. */
  out?: Float32Array;
  offset?: number;
}


export { BUNDLED_WEIGHTS } from './weights/official';

const KNOWN_LOAD_OPTIONS = new Set(['weights', 'alpha', 'resolution', 'classes', 'seed', 'channelRule', 'padding', 'bnEpsilon', 'variant', 'threads', 'maxBatch', 'maxWaitMs', 'preprocess', 'decode', 'maxPixels', 'precision', 'calibration', 'collectActivationStats', 'download', 'engine']);

const INFER_OPTIONS = ['output', 'allowNonFinite', 'signal'];
const CLASSIFY_OPTIONS = ['topk', 'preprocess', 'signal'];
const EMBED_OPTIONS = ['preprocess', 'signal'];
const PREPARE_OPTIONS = ['preprocess', 'decode', 'maxPixels', 'timeoutSeconds', 'out', 'offset'];

/** An options object with only known keys (a misspelt one, e.g. topK, would otherwise be ignored). */
function checkOptions(options: unknown, method: string, known: readonly string[]): void {
  v.plainObject(options, `${method}() options`);
  // for-in, not Object.keys: infer() runs this per call, and allocating there grew RSS (V8's young generation).
  for (const key in options as object) {
    if (!Object.prototype.hasOwnProperty.call(options, key) || known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    fail('ERR_INVALID_ARGUMENT', `unknown ${method}() option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; known: ${known.join(', ')}`);
  }
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) v.invalid('an AbortSignal', 'signal', signal);
  (signal as AbortSignal).throwIfAborted();
  return signal as AbortSignal;
}

/** Settles with `work`, or rejects with signal.reason as soon as the signal aborts. */
function abortable<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Checks a ModelWeights object (from any loader or from the caller) against its architecture. */
export function checkWeights(w: ModelWeights): void {
  if (!w || typeof w !== 'object' || !(w.tensors instanceof Map) || !w.arch)
    fail('ERR_WEIGHTS', `weights must be a path, 'random' or a ModelWeights object { arch, tensors: Map }, got ${describe(w)}`);
  try {
    validateArch(w.arch);
  } catch (e) {
    fail('ERR_WEIGHTS', `the weights' architecture is invalid: ${(e as Error).message}`, e);
  }
  for (const { name, shape } of expectedTensors(weightedLayers(w.arch))) {
    const t = w.tensors.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(t instanceof Float32Array)) fail('ERR_WEIGHTS', `tensor ${name} is missing or not a Float32Array (expected shape [${shape.join(', ')}])`);
    if (t.length !== size) fail('ERR_WEIGHTS', `tensor ${name} has ${t.length} values, expected ${size} for shape [${shape.join(', ')}]`);
  }
}

/** The official release for (α, resolution), by the one policy of weights/official.ts. */
async function officialRelease(alpha: number, resolution: number, download: LoadOptions['download']): Promise<ModelWeights> {
  const file = await officialWeights(alpha, resolution, download ?? false);
  const loaded = await loadWeights(file);
  return file === BUNDLED_WEIGHTS ? { ...loaded, source: 'bundled:mobilenet_v1_0.25_224' } : loaded;
}

async function resolveWeights(opts: LoadOptions): Promise<ModelWeights> {
  const w = opts.weights;
  if (w === 'random') {
    const arch: ArchSpec = {
      alpha: opts.alpha ?? DEFAULT_ARCH.alpha,
      resolution: opts.resolution ?? DEFAULT_ARCH.resolution,
      classes: opts.classes ?? DEFAULT_ARCH.classes,
      channelRule: opts.channelRule ?? DEFAULT_ARCH.channelRule,
      padding: opts.padding ?? DEFAULT_ARCH.padding,
      bnEpsilon: opts.bnEpsilon ?? DEFAULT_ARCH.bnEpsilon,
      variant: opts.variant ?? DEFAULT_ARCH.variant,
    };
    validateArch(arch);
    return randomWeights(arch, opts.seed ?? 1);
  }
  let loaded: ModelWeights;
  if (typeof w === 'string') loaded = await loadWeights(w);
  else if (w === undefined) loaded = await officialRelease(opts.alpha ?? 0.25, opts.resolution ?? 224, opts.download);
  else if (typeof w === 'object') loaded = w;
  else return fail('ERR_INVALID_ARGUMENT', `weights must be a path, 'random' or a ModelWeights object, got ${describe(w)}`);

  // A file fixes α, classes, channel rule and variant; resolution, padding and ε may be overridden
  // (the network is fully convolutional, and padding/ε are run-time choices of the same tensors).
  const arch = { ...loaded.arch };
  for (const key of ['alpha', 'classes', 'channelRule', 'variant'] as const) {
    if (opts[key] !== undefined && opts[key] !== arch[key])
      fail('ERR_INVALID_ARGUMENT', `${key} ${JSON.stringify(opts[key])} does not match the weights (${loaded.source}), which have ${key} ${JSON.stringify(arch[key])}`);
  }
  if (opts.resolution !== undefined) arch.resolution = opts.resolution;
  if (opts.padding !== undefined) arch.padding = opts.padding;
  if (opts.bnEpsilon !== undefined) arch.bnEpsilon = opts.bnEpsilon;
  validateArch(arch);
  return { ...loaded, arch };
}

/** A native call's promise, its rejection turned into a MobileNetError that keeps the addon's code. */
async function settled<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err instanceof MobileNetError) throw err;
    throw new MobileNetError((err.code as 'ERR_NATIVE') ?? 'ERR_NATIVE', err.message, { cause: e });
  }
}

export class MobileNet {
  /** The architecture this model runs. */
  readonly arch: Readonly<ArchSpec>;
  /** Where the weights came from. */
  readonly source: string;
  readonly format: string;
  private nativeModel: NativeModel | undefined;
  private holding = false;  // the executor is held until the next microtask (run())
  private readonly imageSize: number;
  private readonly preprocess: Preprocess;
  /** The decompression-bomb guard of this model's images, in pixels (load({ maxPixels })). */
  readonly maxPixels: number;
  /** How classify/embed decode images (PrepareOptions.decode). */
  readonly decode: DecodeMode;
  private labels: string[] | undefined;
  /** The numeric mode this model runs in. */
  readonly precision: Precision;
  /** int8: where the activation ranges came from ('calibration' file, or the fixed 'relu6' range); else undefined. */
  readonly quantization: 'calibration' | 'relu6' | undefined;
  /** Why this mode is slower than it could be on this CPU (e.g. int8 without VNNI), or ''. */
  readonly precisionNote: string;

  private constructor(weights: ModelWeights, opts: LoadOptions, activationMax: Float32Array | undefined) {
    this.arch = Object.freeze({ ...weights.arch });
    this.source = weights.source;
    this.format = weights.format;
    this.imageSize = this.arch.resolution * this.arch.resolution * 3;
    this.preprocess = opts.preprocess ?? 'tfjs';
    this.maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    this.decode = checkDecodeMode(opts.decode);
    const tensors = expectedTensors(weightedLayers(this.arch)).map(({ name }) => weights.tensors.get(name) as Float32Array);
    const a = this.arch;
    this.precision = opts.precision ?? 'fp32';
    this.quantization = this.precision === 'int8' ? (activationMax ? 'calibration' : 'relu6') : undefined;
    const engine = opts.engine ?? {};
    const addon = native(engine.waitPolicy);
    const info = addon.info();
    const support = info.precisionUnsupported;
    if (this.precision !== 'fp32' && !support)
      fail('ERR_UNSUPPORTED', `precision '${this.precision}' needs a native addon built with reduced-precision support; this build has none (run \`npm run build\`)`);
    const unsupported = support?.[this.precision];
    if (unsupported) fail('ERR_UNSUPPORTED', `precision '${this.precision}' is not available on this CPU: ${unsupported}`);
    this.precisionNote = info.precisionNotes?.[this.precision] ?? '';
    this.nativeModel = new addon.Model(
      { alpha: a.alpha, resolution: a.resolution, classes: a.classes, channelRule: a.channelRule, padding: a.padding, bnEpsilon: a.bnEpsilon, variant: a.variant },
      tensors,
      {
        threads: opts.threads ?? 0, maxBatch: opts.maxBatch ?? 32, maxWaitUs: Math.round((opts.maxWaitMs ?? 0) * 1000),
        precision: this.precision, activationMax, collectStats: opts.collectActivationStats === true,
        limits: NATIVE_LIMITS,
        engine: { layout: engine.layout, fuseDepthwise: engine.fuseDepthwise === 'auto' ? undefined : engine.fuseDepthwise, nhwcMaxBatch: engine.nhwcMaxBatch, hugePages: engine.hugePages },
      },
    );
  }

  /** Loads weights and builds the native engine. See LoadOptions. */
  static async load(options: LoadOptions = {}): Promise<MobileNet> {
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
    const calibration = options.calibration === undefined ? undefined : readCalibration(options.calibration);
    const weights = await resolveWeights(options);
    checkWeights(weights);
    return new MobileNet(weights, options, calibration && calibrationMaxima(calibration, weights, options.calibration));
  }

  private handle(): NativeModel {
    if (!this.nativeModel) throw new MobileNetError('ERR_DISPOSED', 'this model has been disposed; load() a new one');
    return this.nativeModel;
  }

  /**
   * Runs a batch of prepared images: NHWC float32 in [-1, 1], shape [n, R, R, 3].
   * Returns n rows of probabilities (default), logits, or pooled features ('embedding').
   */
  async infer(tensor: Float32Array, shape: readonly number[], options: InferOptions = {}): Promise<Float32Array> {
    const handle = this.handle();
    const R = this.arch.resolution;
    if (!(tensor instanceof Float32Array)) {
      throw new MobileNetError(ArrayBuffer.isView(tensor) ? 'ERR_DTYPE' : 'ERR_INVALID_ARGUMENT', `infer() expects a Float32Array tensor, got ${describe(tensor)}`);
    }
    // Messages are built only on failure: formatting them costs a batch-1 call (docs/engine-notes.md).
    if (!(Array.isArray(shape) && shape.length === 4 && shape.every((d) => Number.isInteger(d) && d > 0)))
      fail('ERR_SHAPE', `shape must be [n, ${R}, ${R}, 3] with positive integers, got ${JSON.stringify(shape)}`);
    const [n, h, w, c] = shape;
    if (h !== R || w !== R || c !== 3) fail('ERR_SHAPE', `this model takes [n, ${R}, ${R}, 3] (NHWC, RGB), got [${shape.join(', ')}]`);
    if (n > LIMITS.batch) fail('ERR_SHAPE', `batch ${n} is too large (at most ${LIMITS.batch})`);
    if (tensor.length !== n * this.imageSize)
      fail('ERR_SHAPE', `a tensor of shape [${shape.join(', ')}] has ${n * this.imageSize} values, got ${tensor.length}`);
    checkOptions(options, 'infer', INFER_OPTIONS);
    const output = v.oneOf(options.output ?? 'probabilities', 'output', OUTPUT_KINDS);
    const allowNonFinite = v.bool(options.allowNonFinite ?? false, 'allowNonFinite');
    const signal = checkSignal(options.signal);
    return abortable(signal, this.run(handle, tensor, n, output, allowNonFinite));
  }

  private run(handle: NativeModel, tensor: Float32Array, n: number, output: OutputKind, allowNonFinite = false): Promise<Float32Array> {
    // The native executor owns batching; this only tells it where a synchronous burst of calls (a
    // Promise.all, a request burst) ends, by holding it until the next microtask, so the burst is
    // merged instead of its first call starting alone. A lone call waits only for that microtask.
    if (!this.holding) {
      this.holding = true;
      handle.hold();
      queueMicrotask(() => {
        this.holding = false;
        handle.release();
      });
    }
    return settled(handle.infer(tensor, n, output, allowNonFinite));
  }

  /**
   * Classifies one image (→ top-k list) or an array of images (→ one list each), run as one batch.
   * `options` may be the number topk, as in @tensorflow-models/mobilenet's classify(img, topk).
   */
  async classify(input: ImageInput, options?: ClassifyOptions | number): Promise<ClassScore[]>;
  async classify(input: readonly ImageInput[], options?: ClassifyOptions | number): Promise<ClassScore[][]>;
  async classify(input: ImageInput | readonly ImageInput[], options: ClassifyOptions | number = {}): Promise<ClassScore[] | ClassScore[][]> {
    this.handle();
    if (typeof options === 'number') options = { topk: options };
    checkOptions(options, 'classify', CLASSIFY_OPTIONS);
    const topk = v.optional(options.topk, (k) => v.int(k, 'topk', 1, this.arch.classes)) ?? 5;
    const many = Array.isArray(input);
    const probs = await this.prepareAndRun(many ? (input as ImageInput[]) : [input as ImageInput], v.optional(options.preprocess, (x) => v.preprocess(x)), 'probabilities', checkSignal(options.signal));
    const classes = this.arch.classes;
    const rows = Array.from({ length: probs.length / classes }, (_, i) => topK(probs, i * classes, classes, topk));
    return many ? rows : rows[0];
  }

  /** The pooled features (length featureWidth, 1024·α) of one image, or one per image of an array. */
  async embed(input: ImageInput, options?: EmbedOptions): Promise<Float32Array>;
  async embed(input: readonly ImageInput[], options?: EmbedOptions): Promise<Float32Array[]>;
  async embed(input: ImageInput | readonly ImageInput[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    this.handle();
    checkOptions(options, 'embed', EMBED_OPTIONS);
    const many = Array.isArray(input);
    const features = await this.prepareAndRun(many ? (input as ImageInput[]) : [input as ImageInput], v.optional(options.preprocess, (x) => v.preprocess(x)), 'embedding', checkSignal(options.signal));
    const width = this.featureWidth;
    const rows = Array.from({ length: features.length / width }, (_, i) => features.slice(i * width, (i + 1) * width));
    return many ? rows : rows[0];
  }

  private async prepareAndRun(inputs: ImageInput[], preprocess: Preprocess | undefined, output: OutputKind, signal?: AbortSignal): Promise<Float32Array> {
    if (inputs.length === 0) v.invalid('at least one image', 'images', inputs);
    const tensor = await abortable(signal, prepareBatch(inputs, { resolution: this.arch.resolution, preprocess: preprocess ?? this.preprocess, maxPixels: this.maxPixels, decode: this.decode }));
    signal?.throwIfAborted();
    return abortable(signal, this.run(this.handle(), tensor, inputs.length, output));
  }

  /**
   * Decodes and resizes images exactly as classify() does (this model's resolution, preprocess,
   * decode and maxPixels): one image → R·R·3 floats, an array → [n, R, R, 3]. Apps that run infer()
   * themselves (batch, server, quantize) prepare through this, so they honour load()'s options.
   */
  async prepare(input: ImageInput, options?: ModelPrepareOptions): Promise<Float32Array>;
  async prepare(input: readonly ImageInput[], options?: Omit<ModelPrepareOptions, 'out' | 'offset'>): Promise<Float32Array>;
  async prepare(input: ImageInput | readonly ImageInput[], options: ModelPrepareOptions = {}): Promise<Float32Array> {
    checkOptions(options, 'prepare', PREPARE_OPTIONS);
    const maxPixels = v.optional(options.maxPixels, (m) => Math.min(v.number(m, 'maxPixels', 1, Number.MAX_SAFE_INTEGER), this.maxPixels)) ?? this.maxPixels;
    const o = { resolution: this.arch.resolution, preprocess: options.preprocess ?? this.preprocess, decode: options.decode ?? this.decode, maxPixels, timeoutSeconds: options.timeoutSeconds };
    if (Array.isArray(input)) {
      if (options.out !== undefined) v.invalid('one image with out', 'images', input);
      return prepareBatch(input, o);
    }
    if (options.out === undefined) return prepareImage(input as ImageInput, o);
    await prepareImageInto(input as ImageInput, options.out, options.offset ?? 0, o);
    return options.out;
  }

  /** Width of the pooled feature vector that embed() returns. */
  get featureWidth(): number {
    return featureWidth(this.arch);
  }

  /** Class names in output order. */
  get classNames(): string[] {
    this.labels ??= labelsFor(this.arch.classes);
    return this.labels;
  }

  /** Table 1 for this configuration: one row per layer with shapes, mult-adds and parameters. */
  summary(): SummaryRow[] {
    return summarize(buildLayers(this.arch));
  }

  /** Totals: mult-adds and parameters (paper counting), plus parameters with BN. */
  cost(): Cost {
    return cost(this.arch);
  }

  /** Largest output of each conv layer over every image run so far (load with collectActivationStats). */
  activationMaxima(): Float32Array {
    return this.handle().activationMax();
  }

  /**
   * Per-layer timing of one forward pass of `batch` images: each oneDNN primitive is run alone and
   * timed (median of `runs`) on the executor thread, between inference batches. `kernel` is the
   * oneDNN implementation that ran ("jit_1x1:avx2", "ref:any", ...).
   */
  async profile(options: ProfileOptions = {}): Promise<ModelProfile> {
    const handle = this.handle();
    v.plainObject(options, 'profile() options');
    const batch = v.optional(options.batch, (b) => v.int(b, 'batch', 1, LIMITS.profileBatch)) ?? 1;
    const runs = v.optional(options.runs, (r) => v.int(r, 'runs', 1, LIMITS.profileRuns)) ?? 10;
    const p = await settled(handle.profile(batch, runs));
    const totalMs = p.layers.reduce((s, l) => s + l.ms, 0);
    const macs = p.layers.reduce((s, l) => s + l.macs, 0);
    return { batch, runs, layers: p.layers, totalMs, forwardMs: p.forwardMs, macs };
  }

  /** Executor counters: forward passes, images, merged calls, queue depth. */
  stats(): ReturnType<NativeModel['stats']> {
    return this.handle().stats();
  }

  get disposed(): boolean {
    return this.nativeModel === undefined;
  }

  /** Frees the native engine once pending calls finish; later calls reject with ERR_DISPOSED. */
  dispose(): void {
    this.nativeModel?.dispose();
    this.nativeModel = undefined;
  }
}
