/**
 * An independent reference for the engine: the Keras MobileNet v1 rebuilt with TF.js layers on the
 * pure-JS CPU backend. It shares nothing with lib/ except the ArchSpec *type*: channel counts, layer
 * names and padding are derived here from the rules the ArchSpec names, so a mistake in lib/core/spec.ts
 * cannot hide itself by being repeated in the reference.
 *
 * Building and running TF.js on the CPU backend is slow (seconds for α=1/224), so fixtures (model.json +
 * shard + inputs + reference outputs) are cached under os.tmpdir(); bump FIXTURE_VERSION whenever the
 * way weights or inputs are generated changes.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prng } from './random';
import type { ArchSpec } from '../../lib/core/spec';

export const FIXTURE_VERSION = 'v2';
export const FIXTURE_ROOT = path.join(os.tmpdir(), 'mobilenet-native-fixtures');

let backendReady: Promise<void> | undefined;
/** The CPU backend is the plain-loop reference implementation; tfjs would otherwise pick nothing useful in Node. */
export function ensureCpuBackend(): Promise<void> {
  backendReady ??= (async () => {
    // Production mode silences the CPU backend's "install tfjs-node" banner, which is noise in test logs.
    tf.enableProdMode();
    await tf.setBackend('cpu');
    await tf.ready();
  })();
  return backendReady;
}

export { prng } from './random';

function uniform(rand: () => number, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/**
 * Inputs in [-1, 1], the range MobileNet's preprocessing produces. Each image gets its own per-channel
 * offset and contrast: i.i.d. noise alone averages out in the global pool, so every row of a batch
 * would get nearly the same logits and a row mix-up in the engine would go unnoticed.
 */
export function randomInput(n: number, resolution: number, seed: number): Float32Array {
  const rand = prng(seed ^ 0x5eed1234);
  const out = new Float32Array(n * resolution * resolution * 3);
  const pixels = resolution * resolution;
  for (let r = 0; r < n; r++) {
    const offset = [0, 1, 2].map(() => -0.6 + 1.2 * rand());
    const contrast = 0.3 + 0.7 * rand();
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < 3; c++) {
        const v = offset[c] + contrast * (2 * rand() - 1);
        out[(r * pixels + p) * 3 + c] = Math.max(-1, Math.min(1, v));
      }
    }
  }
  return out;
}

/**
 * Channel count for a base width d, computed from the paper/Keras/slim rules directly:
 * Keras `int(alpha * d)`, slim `max(int(alpha * d), 8)`. Rounding to 1e-6 first absorbs decimal α
 * like 0.75 or 0.35 whose binary value sits a hair under the exact product.
 */
function width(d: number, arch: ArchSpec): number {
  const scaled = Math.floor(Math.round(arch.alpha * d * 1e6) / 1e6);
  return arch.channelRule === 'slim' ? Math.max(scaled, 8) : scaled;
}

/** Table 1 of the paper: (pointwise width at α=1, depthwise stride) for the 13 separable blocks. */
const TABLE1_BLOCKS: Array<[number, number]> = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1],
  [1024, 2], [1024, 1],
];

/**
 * The Keras MobileNet v1 graph with Keras layer names. Weights are random but seeded; the draw order
 * depends only on the weighted layers, so 'same' and 'symmetric' models built from one seed hold
 * identical tensors (which the padding tests rely on).
 */
export function buildKerasMobileNet(arch: ArchSpec, seed: number): tf.LayersModel {
  const R = arch.resolution;
  const eps = arch.bnEpsilon;
  const symmetric = arch.padding === 'symmetric';
  const rand = prng(seed);
  const weightsToSet: Array<[tf.layers.Layer, Float32Array[]]> = [];

  const input = tf.input({ shape: [R, R, 3], name: 'input_1' });
  let x: tf.SymbolicTensor = input;
  let c = 3;

  // A stride-2 3×3 conv in PyTorch style pads 1 all round; TF 'same' would pad only bottom/right on
  // even sizes. Stride-1 3×3 'same' already pads 1 all round, so only stride 2 needs explicit padding.
  const convPadding = (name: string, stride: number): 'same' | 'valid' => {
    if (symmetric && stride === 2) {
      x = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: `${name}_pad` }).apply(x) as tf.SymbolicTensor;
      return 'valid';
    }
    return 'same';
  };

  const bnRelu = (name: string, cout: number, reluName: string) => {
    const bn = tf.layers.batchNormalization({ axis: -1, epsilon: eps, name: `${name}_bn` });
    x = bn.apply(x) as tf.SymbolicTensor;
    weightsToSet.push([bn, [
      uniform(rand, cout, 0.5, 1.5),    // gamma
      uniform(rand, cout, -0.5, 0.5),   // beta
      uniform(rand, cout, -0.3, 0.3),   // moving_mean
      uniform(rand, cout, 0.4, 1.6),    // moving_variance (> 0)
    ]]);
    x = tf.layers.reLU({ maxValue: 6, name: reluName }).apply(x) as tf.SymbolicTensor;
  };

  // He-style uniform kernels (variance 2/fan_in) keep the ReLU6 activations O(1) through 27 layers.
  const conv = (name: string, kernel: number, stride: number, cout: number, reluName: string) => {
    const padding = kernel === 3 ? convPadding(name, stride) : 'same';
    const layer = tf.layers.conv2d({ filters: cout, kernelSize: kernel, strides: stride, padding, useBias: false, name });
    x = layer.apply(x) as tf.SymbolicTensor;
    const fanIn = kernel * kernel * c;
    const a = Math.sqrt(6 / fanIn);
    weightsToSet.push([layer, [uniform(rand, kernel * kernel * c * cout, -a, a)]]);
    c = cout;
    bnRelu(name, cout, reluName);
  };
  const depthwise = (name: string, stride: number) => {
    const padding = convPadding(name, stride);
    const layer = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding, depthMultiplier: 1, useBias: false, name });
    x = layer.apply(x) as tf.SymbolicTensor;
    const a = Math.sqrt(6 / 9);
    weightsToSet.push([layer, [uniform(rand, 9 * c, -a, a)]]);
    bnRelu(name, c, `${name}_relu`);
  };

  conv('conv1', 3, 2, width(32, arch), 'conv1_relu');
  TABLE1_BLOCKS.forEach(([d, stride], i) => {
    const n = i + 1;
    if (arch.variant === 'shallow' && n >= 7 && n <= 11) return;
    if (arch.variant === 'full-conv') {
      conv(`conv_full_${n}`, 3, stride, width(d, arch), `conv_full_${n}_relu`);
    } else {
      depthwise(`conv_dw_${n}`, stride);
      conv(`conv_pw_${n}`, 1, 1, width(d, arch), `conv_pw_${n}_relu`);
    }
  });

  x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d_1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [1, 1, c], name: 'reshape_1' }).apply(x) as tf.SymbolicTensor;
  const preds = tf.layers.conv2d({ filters: arch.classes, kernelSize: 1, padding: 'same', useBias: true, name: 'conv_preds' });
  x = preds.apply(x) as tf.SymbolicTensor;
  // Logits of std ≈ 3 give a softmax that is neither one-hot nor flat, so probability errors show.
  const a = 3 * Math.sqrt(3 / c);
  weightsToSet.push([preds, [uniform(rand, c * arch.classes, -a, a), uniform(rand, arch.classes, -1, 1)]]);
  x = tf.layers.activation({ activation: 'softmax', name: 'act_softmax' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [arch.classes], name: 'reshape_2' }).apply(x) as tf.SymbolicTensor;

  const model = tf.model({ inputs: input, outputs: x, name: `mobilenet_${arch.alpha}_${R}` });
  for (const [layer, values] of weightsToSet) {
    const shapes = layer.getWeights().map((w) => w.shape);
    if (shapes.length !== values.length) throw new Error(`reference: ${layer.name} has ${shapes.length} weights, generated ${values.length}`);
    const tensors = values.map((v, i) => tf.tensor(v, shapes[i], 'float32'));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  return model;
}

function weightDataToBuffer(data: tf.io.WeightData | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

/** Writes model.json + one shard, the layout `tf.loadLayersModel('file://…')` and our loader read. */
export async function saveTfjsModel(model: tf.LayersModel, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const shard = 'group1-shard1of1.bin';
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const json = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs }],
    };
    fs.writeFileSync(path.join(dir, shard), weightDataToBuffer(artifacts.weightData));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return path.join(dir, 'model.json');
}

/** Loads a TF.js layers model.json (any number of shards) from disk; pure tfjs has no file:// loader. */
export async function loadTfjsModelFromDir(dirOrModelJson: string): Promise<tf.LayersModel> {
  await ensureCpuBackend();
  const modelJson = dirOrModelJson.endsWith('.json') ? dirOrModelJson : path.join(dirOrModelJson, 'model.json');
  const dir = path.dirname(modelJson);
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const handler: tf.io.IOHandler = {
    load: async () => {
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
        specs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
  return tf.loadLayersModel(handler);
}

export interface ReferenceOutputs {
  probabilities: Float32Array;
  logits: Float32Array;
  /** The global-average-pool output, [n, channels]. */
  embedding: Float32Array;
}

/** Probabilities (the model output), logits (conv_preds, before the softmax) and the pooled features for NHWC input. */
export async function runReference(model: tf.LayersModel, input: Float32Array, n: number): Promise<ReferenceOutputs> {
  await ensureCpuBackend();
  const [, h, w, ch] = model.inputs[0].shape as number[];
  const classesOf = (t: tf.Tensor) => t.shape[t.shape.length - 1];
  const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D');
  if (!pool) throw new Error('reference: the model has no GlobalAveragePooling2D layer');
  // One extra model with three outputs, so the network runs once per batch.
  const outputs = [model.outputs[0], model.getLayer('conv_preds').output as tf.SymbolicTensor, pool.output as tf.SymbolicTensor];
  const multi = tf.model({ inputs: model.inputs, outputs });
  return tf.tidy(() => {
    const x = tf.tensor4d(input, [n, h, w, ch]);
    const [probs, logits, embedding] = multi.predict(x) as tf.Tensor[];
    return {
      probabilities: probs.reshape([n, classesOf(probs)]).dataSync() as Float32Array,
      logits: logits.reshape([n, classesOf(logits)]).dataSync() as Float32Array,
      embedding: embedding.reshape([n, classesOf(embedding)]).dataSync() as Float32Array,
    };
  });
}

export interface Fixture extends ReferenceOutputs {
  dir: string;
  modelJson: string;
  arch: ArchSpec;
  seed: number;
  batch: number;
  input: Float32Array;
  classes: number;
  /** Seconds TF.js took to build and run the reference (0 when it came from the cache). */
  referenceSeconds: number;
}

function fixtureKey(arch: ArchSpec, seed: number, batch: number): string {
  return [FIXTURE_VERSION, `a${arch.alpha}`, `r${arch.resolution}`, `c${arch.classes}`, arch.channelRule, arch.padding,
    `e${arch.bnEpsilon}`, arch.variant, `s${seed}`, `b${batch}`].join('_');
}

function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function writeF32(file: string, a: Float32Array): void {
  fs.writeFileSync(file, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

/**
 * A saved random model for `arch` and its TF.js outputs on `batch` random inputs, from the cache when
 * present. The directory is written under a temporary name and renamed, so a crashed or concurrent
 * run never leaves a half-written fixture behind.
 */
export async function referenceFixture(arch: ArchSpec, seed: number, batch: number): Promise<Fixture> {
  const key = fixtureKey(arch, seed, batch);
  const dir = path.join(FIXTURE_ROOT, key);
  const done = path.join(dir, 'complete');
  let referenceSeconds = 0;
  if (!fs.existsSync(done)) {
    await ensureCpuBackend();
    const t0 = process.hrtime.bigint();
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const model = buildKerasMobileNet(arch, seed);
    try {
      await saveTfjsModel(model, tmp);
      const input = randomInput(batch, arch.resolution, seed);
      const out = await runReference(model, input, batch);
      writeF32(path.join(tmp, 'input.f32'), input);
      writeF32(path.join(tmp, 'probabilities.f32'), out.probabilities);
      writeF32(path.join(tmp, 'logits.f32'), out.logits);
      writeF32(path.join(tmp, 'embedding.f32'), out.embedding);
      fs.writeFileSync(path.join(tmp, 'complete'), JSON.stringify({ arch, seed, batch, tfjs: tf.version.tfjs }));
    } finally {
      model.dispose();
    }
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.renameSync(tmp, dir);
    } catch {
      // Another process finished the same fixture first; theirs is identical.
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    referenceSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return {
    dir,
    modelJson: path.join(dir, 'model.json'),
    arch: { ...arch },
    seed,
    batch,
    input: readF32(path.join(dir, 'input.f32')),
    probabilities: readF32(path.join(dir, 'probabilities.f32')),
    logits: readF32(path.join(dir, 'logits.f32')),
    embedding: readF32(path.join(dir, 'embedding.f32')),
    classes: arch.classes,
    referenceSeconds,
  };
}

export interface Comparison {
  maxProbDelta: number;
  maxLogitDelta: number;
  maxAbsLogit: number;
  argmaxMismatches: number[];
}

/** Row-wise argmax of an [n, classes] array. */
export function argmaxRows(a: Float32Array, n: number): number[] {
  const k = a.length / n;
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (a[r * k + j] > a[r * k + best]) best = j;
    out.push(best);
  }
  return out;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN; // a NaN must fail the tolerance check, not be skipped by `>`
    if (d > m) m = d;
  }
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * The reference model's own tensors under the neutral names of lib/core/weights/types.ts (TF.js already
 * stores HWIO / HWIM, the layouts that file documents). For configurations no file format carries
 * (slim channel clamping, the Table 4/5 variants) this hands the engine exactly what TF.js ran.
 */
export function tensorsOfTfjsModel(model: tf.LayersModel): Map<string, Float32Array> {
  const tensors = new Map<string, Float32Array>();
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = w.originalName.replace(/:0$/, '');
      tensors.set(name, w.read().dataSync() as Float32Array);
    }
  }
  return tensors;
}

export interface RealReference extends ReferenceOutputs {
  input: Float32Array;
  batch: number;
  resolution: number;
  classes: number;
  referenceSeconds: number;
}

/**
 * TF.js outputs of an existing model.json (e.g. the real α=0.75 model) on `batch` seeded random
 * inputs, cached like the fixtures; the key hashes model.json and the shard sizes so a changed model
 * never reuses stale outputs.
 */
export async function realModelReference(dirOrModelJson: string, seed: number, batch: number): Promise<RealReference> {
  const modelJson = dirOrModelJson.endsWith('.json') ? dirOrModelJson : path.join(dirOrModelJson, 'model.json');
  const text = fs.readFileSync(modelJson);
  const hash = crypto.createHash('sha256').update(text);
  const json = JSON.parse(text.toString('utf8'));
  for (const group of json.weightsManifest as tf.io.WeightsManifestConfig)
    for (const p of group.paths) hash.update(`${p}:${fs.statSync(path.join(path.dirname(modelJson), p)).size}`);
  const dir = path.join(FIXTURE_ROOT, `${FIXTURE_VERSION}_real_${path.basename(path.dirname(modelJson))}_${hash.digest('hex').slice(0, 16)}_s${seed}_b${batch}`);
  let referenceSeconds = 0;
  if (!fs.existsSync(path.join(dir, 'complete'))) {
    const t0 = process.hrtime.bigint();
    const model = await loadTfjsModelFromDir(modelJson);
    try {
      const resolution = model.inputs[0].shape[1] as number;
      const input = randomInput(batch, resolution, seed);
      const out = await runReference(model, input, batch);
      const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
      fs.mkdirSync(tmp, { recursive: true });
      writeF32(path.join(tmp, 'input.f32'), input);
      writeF32(path.join(tmp, 'probabilities.f32'), out.probabilities);
      writeF32(path.join(tmp, 'logits.f32'), out.logits);
      writeF32(path.join(tmp, 'embedding.f32'), out.embedding);
      fs.writeFileSync(path.join(tmp, 'complete'), JSON.stringify({ modelJson, seed, batch, resolution, tfjs: tf.version.tfjs }));
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        fs.renameSync(tmp, dir);
      } catch {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    } finally {
      model.dispose();
    }
    referenceSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'complete'), 'utf8'));
  const probabilities = readF32(path.join(dir, 'probabilities.f32'));
  return {
    input: readF32(path.join(dir, 'input.f32')),
    probabilities,
    logits: readF32(path.join(dir, 'logits.f32')),
    embedding: readF32(path.join(dir, 'embedding.f32')),
    batch,
    resolution: meta.resolution,
    classes: probabilities.length / batch,
    referenceSeconds,
  };
}
