/**
 * The MobileNet model: validates everything a caller can get wrong, then hands plain typed arrays
 * to the native engine. Nothing invalid reaches native code.
 */
import { calibrationMaxima, readCalibration } from './calibration';
import { describe, fail, MobileNetError } from './errors';
import { DEFAULT_MAX_PIXELS, prepareBatch, prepareImage, prepareImageInto, type ImageInput, type Preprocess } from './image';
import { checkDecodeMode, type DecodeMode } from './image-stage';
import { labelsFor, topK, type ClassScore } from './labels';
import { LIMITS, NATIVE_LIMITS } from './limits';
import {
  abortable, checkLoadOptions, checkOptions, checkSignal, CLASSIFY_OPTIONS, EMBED_OPTIONS, INFER_OPTIONS, OUTPUT_KINDS, PREPARE_OPTIONS,
  type ClassifyOptions, type EmbedOptions, type InferOptions, type LoadOptions, type ModelPrepareOptions, type ModelProfile, type OutputKind, type Precision, type ProfileOptions,
} from './model-options';
import { checkWeights, resolveWeights } from './model-weights';
import { native, type NativeModel } from './native';
import { buildLayers, cost, featureWidth, summarize, weightedLayers, type ArchSpec, type Cost, type SummaryRow } from './spec';
import * as v from './validate';
import { expectedTensors, type ModelWeights } from './weights/types';

export * from './model-options';
export { checkWeights } from './model-weights';
export { summarize, type SummaryRow } from './spec';
export { BUNDLED_WEIGHTS } from './weights/official';

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
    checkLoadOptions(options);
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
    const o = { resolution: this.arch.resolution, preprocess: options.preprocess ?? this.preprocess, decode: options.decode ?? this.decode, maxPixels, timeoutSeconds: options.timeoutSeconds, sourceFile: options.sourceFile };
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
