/**
 * The MobileNet model: validates everything a caller can get wrong, then hands plain typed arrays
 * to the native engine. Nothing invalid reaches native code.
 */
import * as path from 'path';
import { calibrationMaxima, readCalibration } from './calibration';
import { describe, fail, MobileNetError } from './errors';
import { findCachedModel, modelHome, OFFICIAL_ALPHAS, OFFICIAL_RESOLUTIONS } from './fetch';
import { prepareBatch, type ImageInput, type Preprocess } from './image';
import { checkDecodeMode, type DecodeMode } from './image-stage';
import { labelsFor, topK, type ClassScore } from './labels';
import { native, type NativeModel, type NativeOutput } from './native';
import { buildLayers, cost, DEFAULT_ARCH, featureWidth, validateArch, weightedLayers, type ArchSpec, type ChannelRule, type Cost, type LayerSpec, type PaddingMode, type Variant } from './spec';
import { loadWeights, randomWeights } from './weights';
import { expectedTensors, type ModelWeights } from './weights/types';

export type OutputKind = 'probabilities' | 'logits' | 'embedding';

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
}

export type Precision = 'fp32' | 'bf16' | 'int8';

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
}

export interface ClassifyOptions {
  topk?: number;
  preprocess?: Preprocess;
}

export interface SummaryRow {
  name: string;
  /** Table 1 "Type / Stride", e.g. "Conv dw / s2". */
  type: string;
  /** Table 1 "Filter Shape", e.g. "3 × 3 × 32 dw". */
  filter: string;
  input: [number, number, number];
  output: [number, number, number];
  macs: number;
  params: number;
}

export const BUNDLED_WEIGHTS = path.resolve(__dirname, '..', '..', 'weights', 'mobilenet_v1_0.25_224', 'model.json');

function check(cond: boolean, code: 'ERR_INVALID_ARGUMENT' | 'ERR_SHAPE' | 'ERR_DTYPE', message: string): void {
  if (!cond) throw new MobileNetError(code, message);
}

function intOption(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  check(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max, 'ERR_INVALID_ARGUMENT',
    `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  return value as number;
}

function numberOption(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  check(typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max, 'ERR_INVALID_ARGUMENT',
    `${name} must be a number from ${min} to ${max}, got ${describe(value)}`);
  return value as number;
}

const KNOWN_LOAD_OPTIONS = new Set(['weights', 'alpha', 'resolution', 'classes', 'seed', 'channelRule', 'padding', 'bnEpsilon', 'variant', 'threads', 'maxBatch', 'maxWaitMs', 'preprocess', 'decode', 'maxPixels', 'precision', 'calibration', 'collectActivationStats']);

function checkPreprocess(p: unknown): Preprocess | undefined {
  if (p === undefined) return undefined;
  check(p === 'tfjs' || p === 'center-crop', 'ERR_INVALID_ARGUMENT', `preprocess must be 'tfjs' or 'center-crop', got ${describe(p)}`);
  return p as Preprocess;
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

/**
 * The official release for (α, resolution): a copy cached by `mobilenet fetch`, else the bundled
 * α=0.25/224 model for that configuration. Anything else needs an explicit download first.
 */
async function officialWeights(alpha: number, resolution: number): Promise<ModelWeights> {
  const official = (OFFICIAL_ALPHAS as readonly number[]).includes(alpha) && (OFFICIAL_RESOLUTIONS as readonly number[]).includes(resolution);
  const cached = official ? findCachedModel(alpha, resolution) : undefined;
  if (cached) return loadWeights(cached);
  if (alpha === 0.25 && resolution === 224) {
    const bundled = await loadWeights(BUNDLED_WEIGHTS);
    return { ...bundled, source: 'bundled:mobilenet_v1_0.25_224' };
  }
  if (!official)
    fail('ERR_WEIGHTS', `no pretrained MobileNet v1 exists for α=${alpha}, resolution ${resolution}: official releases are α ∈ {${OFFICIAL_ALPHAS.join(', ')}} × resolution ∈ {${OFFICIAL_RESOLUTIONS.join(', ')}}; pass weights: '<path>' or 'random'`);
  return fail('ERR_WEIGHTS', `the official α=${alpha}/${resolution} model is not in the cache (${modelHome()}): run \`mobilenet fetch --alpha ${alpha} --resolution ${resolution}\`, or pass weights: '<path>' or 'random'`);
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
  else if (w === undefined) loaded = await officialWeights(opts.alpha ?? 0.25, opts.resolution ?? 224);
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
  private readonly maxPixels: number | undefined;
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
    this.maxPixels = opts.maxPixels;
    this.decode = checkDecodeMode(opts.decode);
    const tensors = expectedTensors(weightedLayers(this.arch)).map(({ name }) => weights.tensors.get(name) as Float32Array);
    const a = this.arch;
    this.precision = opts.precision ?? 'fp32';
    this.quantization = this.precision === 'int8' ? (activationMax ? 'calibration' : 'relu6') : undefined;
    const addon = native();
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
      },
    );
  }

  /** Loads weights and builds the native engine. See LoadOptions. */
  static async load(options: LoadOptions = {}): Promise<MobileNet> {
    check(options !== null && typeof options === 'object' && !Array.isArray(options), 'ERR_INVALID_ARGUMENT', `load() options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options))
      check(KNOWN_LOAD_OPTIONS.has(key), 'ERR_INVALID_ARGUMENT', `unknown load() option '${key}'; known: ${[...KNOWN_LOAD_OPTIONS].join(', ')}`);
    numberOption(options.alpha, 'alpha', Number.MIN_VALUE, 1);
    intOption(options.resolution, 'resolution', 32, 4096);
    intOption(options.classes, 'classes', 1, 100000);
    intOption(options.seed, 'seed', 0, 2 ** 32 - 1);
    numberOption(options.bnEpsilon, 'bnEpsilon', 0, 1);
    intOption(options.threads, 'threads', 1, 1024);
    intOption(options.maxBatch, 'maxBatch', 1, 1024);
    numberOption(options.maxWaitMs, 'maxWaitMs', 0, 1000);
    numberOption(options.maxPixels, 'maxPixels', 1, Number.MAX_SAFE_INTEGER);
    checkPreprocess(options.preprocess);
    checkDecodeMode(options.decode);
    const p = options.precision;
    check(p === undefined || p === 'fp32' || p === 'bf16' || p === 'int8', 'ERR_INVALID_ARGUMENT', `precision must be 'fp32', 'bf16' or 'int8', got ${describe(p)}`);
    check(options.calibration === undefined || p === 'int8', 'ERR_INVALID_ARGUMENT', `calibration applies to precision 'int8' only, got precision ${describe(p ?? 'fp32')}`);
    check(!options.collectActivationStats || (p ?? 'fp32') === 'fp32', 'ERR_INVALID_ARGUMENT', `collectActivationStats needs precision 'fp32', got ${describe(p)}`);
    const calibration = options.calibration === undefined ? undefined : readCalibration(options.calibration);
    const weights = await resolveWeights(options);
    checkWeights(weights);
    return new MobileNet(weights, options, calibration && calibrationMaxima(calibration, weights, options.calibration));
  }

  private engine(): NativeModel {
    if (!this.nativeModel) throw new MobileNetError('ERR_DISPOSED', 'this model has been disposed; load() a new one');
    return this.nativeModel;
  }

  /**
   * Runs a batch of prepared images: NHWC float32 in [-1, 1], shape [n, R, R, 3].
   * Returns n rows of probabilities (default), logits, or pooled features ('embedding').
   */
  async infer(tensor: Float32Array, shape: readonly number[], options: InferOptions = {}): Promise<Float32Array> {
    const engine = this.engine();
    const R = this.arch.resolution;
    if (!(tensor instanceof Float32Array)) {
      throw new MobileNetError(ArrayBuffer.isView(tensor) ? 'ERR_DTYPE' : 'ERR_INVALID_ARGUMENT', `infer() expects a Float32Array tensor, got ${describe(tensor)}`);
    }
    // Messages are built only on failure. Formatting them on every call (JSON.stringify, join,
    // describe) ran with caches cold from the pass before: the synchronous part of a batch-1 infer()
    // took ~100 µs that way and ~85 µs this way (α=1/224, medians, 5 of 6 alternating process pairs).
    if (!(Array.isArray(shape) && shape.length === 4 && shape.every((d) => Number.isInteger(d) && d > 0)))
      fail('ERR_SHAPE', `shape must be [n, ${R}, ${R}, 3] with positive integers, got ${JSON.stringify(shape)}`);
    const [n, h, w, c] = shape;
    if (h !== R || w !== R || c !== 3) fail('ERR_SHAPE', `this model takes [n, ${R}, ${R}, 3] (NHWC, RGB), got [${shape.join(', ')}]`);
    if (n > 65536) fail('ERR_SHAPE', `batch ${n} is too large (at most 65536)`);
    if (tensor.length !== n * this.imageSize)
      fail('ERR_SHAPE', `a tensor of shape [${shape.join(', ')}] has ${n * this.imageSize} values, got ${tensor.length}`);
    if (options === null || typeof options !== 'object') fail('ERR_INVALID_ARGUMENT', `infer() options must be an object, got ${describe(options)}`);
    const output = options.output ?? 'probabilities';
    if (output !== 'probabilities' && output !== 'logits' && output !== 'embedding')
      fail('ERR_INVALID_ARGUMENT', `output must be 'probabilities', 'logits' or 'embedding', got ${describe(output)}`);
    return this.run(engine, tensor, n, output);
  }

  private run(engine: NativeModel, tensor: Float32Array, n: number, output: NativeOutput): Promise<Float32Array> {
    // Calls made in one synchronous run (a Promise.all over many images, a request burst) reach the
    // executor together: it is held until the microtask after them, then merges them into batches.
    // Without this the first call started alone at once and the rest trickled in behind it (64
    // concurrent α=0.25 calls ran as ~50 passes). A lone call only waits for that microtask.
    if (!this.holding) {
      this.holding = true;
      engine.hold();
      queueMicrotask(() => {
        this.holding = false;
        engine.release();
      });
    }
    return settled(engine.infer(tensor, n, output));
  }

  /** Classifies one image (→ top-k list) or an array of images (→ one list each), run as one batch. */
  async classify(input: ImageInput, options?: ClassifyOptions): Promise<ClassScore[]>;
  async classify(input: readonly ImageInput[], options?: ClassifyOptions): Promise<ClassScore[][]>;
  async classify(input: ImageInput | readonly ImageInput[], options: ClassifyOptions = {}): Promise<ClassScore[] | ClassScore[][]> {
    this.engine();
    check(options !== null && typeof options === 'object', 'ERR_INVALID_ARGUMENT', `classify() options must be an object, got ${describe(options)}`);
    const topk = intOption(options.topk, 'topk', 1, this.arch.classes) ?? 5;
    const many = Array.isArray(input);
    const probs = await this.prepareAndRun(many ? (input as ImageInput[]) : [input as ImageInput], checkPreprocess(options.preprocess), 'probabilities');
    const classes = this.arch.classes;
    const rows = Array.from({ length: probs.length / classes }, (_, i) => topK(probs, i * classes, classes, topk));
    return many ? rows : rows[0];
  }

  /** The pooled features (length featureWidth, 1024·α) of one image, or one per image of an array. */
  async embed(input: ImageInput, options?: { preprocess?: Preprocess }): Promise<Float32Array>;
  async embed(input: readonly ImageInput[], options?: { preprocess?: Preprocess }): Promise<Float32Array[]>;
  async embed(input: ImageInput | readonly ImageInput[], options: { preprocess?: Preprocess } = {}): Promise<Float32Array | Float32Array[]> {
    this.engine();
    check(options !== null && typeof options === 'object', 'ERR_INVALID_ARGUMENT', `embed() options must be an object, got ${describe(options)}`);
    const many = Array.isArray(input);
    const features = await this.prepareAndRun(many ? (input as ImageInput[]) : [input as ImageInput], checkPreprocess(options.preprocess), 'embedding');
    const width = this.featureWidth;
    const rows = Array.from({ length: features.length / width }, (_, i) => features.slice(i * width, (i + 1) * width));
    return many ? rows : rows[0];
  }

  private async prepareAndRun(inputs: ImageInput[], preprocess: Preprocess | undefined, output: NativeOutput): Promise<Float32Array> {
    check(inputs.length > 0, 'ERR_INVALID_ARGUMENT', 'expected at least one image, got an empty array');
    const tensor = await prepareBatch(inputs, { resolution: this.arch.resolution, preprocess: preprocess ?? this.preprocess, maxPixels: this.maxPixels, decode: this.decode });
    return this.run(this.engine(), tensor, inputs.length, output);
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
    return this.engine().activationMax();
  }

  /**
   * Per-layer timing of one forward pass of `batch` images: each oneDNN primitive is run alone and
   * timed (median of `runs`) on the executor thread, between inference batches. `kernel` is the
   * oneDNN implementation that ran ("jit_1x1:avx2", "ref:any", ...).
   */
  async profile(options: ProfileOptions = {}): Promise<ModelProfile> {
    const engine = this.engine();
    check(options !== null && typeof options === 'object', 'ERR_INVALID_ARGUMENT', `profile() options must be an object, got ${describe(options)}`);
    const batch = intOption(options.batch, 'batch', 1, 1024) ?? 1;
    const runs = intOption(options.runs, 'runs', 1, 10000) ?? 10;
    const p = await settled(engine.profile(batch, runs));
    const totalMs = p.layers.reduce((s, l) => s + l.ms, 0);
    const macs = p.layers.reduce((s, l) => s + l.macs, 0);
    return { batch, runs, layers: p.layers, totalMs, forwardMs: p.forwardMs, macs };
  }

  /** Executor counters: forward passes, images, merged calls, queue depth. */
  stats(): ReturnType<NativeModel['stats']> {
    return this.engine().stats();
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

const TYPE_NAMES: Record<string, string> = { conv: 'Conv', dw: 'Conv dw', pw: 'Conv', pool: 'Avg Pool', fc: 'FC', softmax: 'Softmax' };

export function summarize(layers: LayerSpec[]): SummaryRow[] {
  return layers.map((l) => {
    let filter: string;
    if (l.type === 'dw') filter = `${l.kernel} × ${l.kernel} × ${l.inChannels} dw`;
    else if (l.type === 'conv' || l.type === 'pw') filter = `${l.kernel} × ${l.kernel} × ${l.inChannels} × ${l.outChannels}`;
    else if (l.type === 'pool') filter = `Pool ${l.kernel} × ${l.kernel}`;
    else if (l.type === 'fc') filter = `${l.inChannels} × ${l.outChannels}`;
    else filter = 'Classifier';
    const stride = l.type === 'conv' || l.type === 'dw' || l.type === 'pw' ? ` / s${l.stride}` : l.type === 'pool' ? ' / s1' : ' / s1';
    return { name: l.name, type: TYPE_NAMES[l.type] + stride, filter, input: l.inputShape, output: l.outputShape, macs: l.macs, params: l.params };
  });
}
