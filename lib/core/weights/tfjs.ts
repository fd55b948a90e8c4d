/**
 * TF.js layers format: model.json (Keras topology + weightsManifest) and binary shards beside it.
 * The topology is checked to be a Keras MobileNet v1 and read for α, resolution, classes, padding
 * and BN ε; the tensors are checked against the shapes lib/core/spec.ts derives from those.
 */
import { createHash } from 'crypto';
import * as path from 'path';
import { ArchSpec, BLOCKS, PaddingMode } from '../spec';
import { ModelWeights } from './types';
import { readShards, recordedHashes, WeightFileError } from './files';
import { assemble, evenAtEveryStride2, inferAlpha, product, float16ToFloat32, readFileOrFail, shapeString, weightsError } from './validate';

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function topologyLayers(json: Record<string, unknown>, file: string): KerasLayer[] {
  const topo = json.modelTopology;
  if (!isObject(topo)) throw weightsError(`${file}: no modelTopology object (is this a TF.js layers model.json? a graph model is not supported)`);
  // Keras writes {keras_version, backend, model_config: {class_name, config}}; some exporters put the model config at the top.
  const model = isObject(topo.model_config) ? topo.model_config : topo;
  const config = model.config;
  // Old Sequential models store the layer list directly as config.
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layers)) throw weightsError(`${file}: modelTopology has no layer list`);
  return layers.map((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config))
      throw weightsError(`${file}: layer ${i} of modelTopology is malformed`);
    return l as unknown as KerasLayer;
  });
}

function layerName(l: KerasLayer): string {
  return String(l.config.name ?? l.name ?? '');
}

/** Name of the single layer feeding `l` in a functional topology, or undefined if not recorded. */
function inboundName(l: KerasLayer): string | undefined {
  const nodes = l.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return undefined;
  const first = nodes[0];
  // Keras 2: [[["name", 0, 0, {}]]]; Keras 3: [{args: [{config: {keras_history: ["name", 0, 0]}}]}]
  if (Array.isArray(first) && Array.isArray(first[0]) && typeof first[0][0] === 'string') return first[0][0];
  if (isObject(first) && Array.isArray(first.args)) {
    const a = first.args[0];
    if (isObject(a) && isObject(a.config) && Array.isArray(a.config.keras_history)) return String(a.config.keras_history[0]);
  }
  return undefined;
}

function pair(v: unknown): [number, number] | undefined {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  return undefined;
}

/** ZeroPadding2D config → [top, bottom, left, right]. */
function zeroPadding(l: KerasLayer): [number, number, number, number] | undefined {
  const p = l.config.padding;
  if (typeof p === 'number') return [p, p, p, p];
  if (Array.isArray(p) && p.length === 2) {
    const h = pair(p[0]);
    const w = pair(p[1]);
    if (h && w && typeof p[0] !== 'number') return [h[0], h[1], w[0], w[1]];
    if (typeof p[0] === 'number' && typeof p[1] === 'number') return [p[0], p[0], p[1], p[1]];
  }
  return undefined;
}

function isRelu6(l: KerasLayer | undefined): boolean {
  if (!l) return false;
  if (l.class_name === 'Activation') return l.config.activation === 'relu6';
  if (l.class_name === 'ReLU') return Number(l.config.max_value) === 6 && !Number(l.config.negative_slope) && !Number(l.config.threshold);
  return false;
}

interface TopologyFacts {
  arch: ArchSpec;
  /** Keras layer name → output channels, for the α search. */
  observed: Map<string, number>;
  /** true when the classifier is a Dense layer (kernel [cin, classes]). */
  denseClassifier: string | undefined;
}

/** What the layer checks share while they read one topology. */
interface TopologyReader {
  layers: KerasLayer[];
  byName: Map<string, KerasLayer>;
  file: string;
  epsilons: Set<number>;
  observed: Map<string, number>;
  paddingModes: Set<PaddingMode>;
}

function needLayer(t: TopologyReader, name: string, cls: string[]): KerasLayer {
  const l = t.byName.get(name);
  if (!l) throw weightsError(`${t.file}: the topology has no layer ${name}; not a Keras MobileNet v1`);
  if (!cls.includes(l.class_name)) throw weightsError(`${t.file}: layer ${name} is a ${l.class_name}, expected ${cls.join(' or ')}; not a Keras MobileNet v1`);
  return l;
}

/** Resolution: the input layer's batch_input_shape (functional) or the first layer's (Sequential). */
function inputResolution(layers: KerasLayer[], file: string): number {
  for (const l of layers) {
    const s = (l.config.batch_input_shape ?? l.config.batch_shape) as unknown;
    if (Array.isArray(s) && s.length === 4) {
      if (s[1] !== s[2] || typeof s[1] !== 'number' || s[3] !== 3)
        throw weightsError(`${file}: input shape ${JSON.stringify(s)} is not [null, R, R, 3] with a fixed square resolution R`);
      return s[1];
    }
  }
  throw weightsError(`${file}: the topology gives no fixed input shape [null, R, R, 3]`);
}

/** A 3×3 conv's padding style: Keras ≤2.1 (and TF.js) use 'same'; Keras ≥2.2 put an explicit ZeroPadding2D before a 'valid' stride-2 conv. */
function convPadding(t: TopologyReader, l: KerasLayer, name: string, stride: number): void {
  const { file } = t;
  const src = inboundName(l);
  const before = src === undefined ? undefined : t.byName.get(src);
  if (l.config.padding === 'same') {
    if (stride === 2) t.paddingModes.add('same');
  } else if (l.config.padding === 'valid' && before?.class_name === 'ZeroPadding2D') {
    const p = zeroPadding(before);
    const key = JSON.stringify(p);
    if (key === JSON.stringify([1, 1, 1, 1])) t.paddingModes.add(stride === 2 ? 'symmetric' : 'same');
    else if (stride === 2 && key === JSON.stringify([0, 1, 0, 1])) t.paddingModes.add('same');
    else throw weightsError(`${file}: layer ${name} is preceded by ZeroPadding2D ${JSON.stringify(before.config.padding)}, expected ((0,1),(0,1)) or ((1,1),(1,1))`);
  } else throw weightsError(`${file}: layer ${name} has padding '${String(l.config.padding)}' without a ZeroPadding2D before it; not a MobileNet v1`);
}

/** The conv's BatchNormalization (full, on the channel axis) and the ReLU6 after it. */
function checkBatchNormRelu(t: TopologyReader, name: string): void {
  const { file } = t;
  const bn = needLayer(t, `${name}_bn`, ['BatchNormalization']);
  const axis = bn.config.axis;
  if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3))))
    throw weightsError(`${file}: layer ${name}_bn normalises axis ${JSON.stringify(axis)}, expected the channel axis`);
  if (bn.config.center === false || bn.config.scale === false)
    throw weightsError(`${file}: layer ${name}_bn has center/scale disabled; only full BatchNormalization is supported`);
  const eps = Number(bn.config.epsilon ?? 1e-3);
  t.epsilons.add(eps);
  const bnSource = inboundName(bn);
  if (bnSource !== undefined && bnSource !== name) throw weightsError(`${file}: layer ${name}_bn is fed by ${bnSource}, expected ${name}`);
  // The ReLU6 is the layer fed by the BN (Keras names it conv1_relu / conv_dw_N_relu / conv_pw_N_relu).
  const relu = t.layers.find((x) => inboundName(x) === `${name}_bn`) ?? t.byName.get(`${name}_relu`);
  if (!isRelu6(relu)) throw weightsError(`${file}: layer ${name}_bn is not followed by a ReLU6 (got ${relu ? relu.class_name + ' ' + layerName(relu) : 'nothing'})`);
}

/** One conv layer of the body: kernel, stride, dilation, layout, activation, padding, then its BN and ReLU6. */
function checkConv(t: TopologyReader, name: string, stride: number, kernel: number, depthwise: boolean): void {
  const { file } = t;
  const l = needLayer(t, name, depthwise ? ['DepthwiseConv2D'] : ['Conv2D']);
  const k = pair(l.config.kernel_size);
  const s = pair(l.config.strides) ?? [1, 1];
  if (!k || k[0] !== kernel || k[1] !== kernel) throw weightsError(`${file}: layer ${name} has kernel_size ${JSON.stringify(l.config.kernel_size)}, expected ${kernel}×${kernel}`);
  if (s[0] !== stride || s[1] !== stride) throw weightsError(`${file}: layer ${name} has strides ${JSON.stringify(l.config.strides)}, expected ${stride}`);
  const dil = pair(l.config.dilation_rate) ?? [1, 1];
  if (dil[0] !== 1 || dil[1] !== 1) throw weightsError(`${file}: layer ${name} has dilation ${JSON.stringify(l.config.dilation_rate)}, expected 1`);
  if (l.config.data_format !== undefined && l.config.data_format !== 'channels_last') throw weightsError(`${file}: layer ${name} is ${String(l.config.data_format)}, expected channels_last`);
  if (depthwise && Number(l.config.depth_multiplier ?? 1) !== 1) throw weightsError(`${file}: layer ${name} has depth_multiplier ${String(l.config.depth_multiplier)}, expected 1`);
  if (l.config.activation !== undefined && l.config.activation !== 'linear') throw weightsError(`${file}: layer ${name} has activation ${String(l.config.activation)}, expected linear (BN and ReLU6 follow)`);
  if (!depthwise) {
    if (typeof l.config.filters !== 'number') throw weightsError(`${file}: layer ${name} has no filters count`);
    t.observed.set(name, l.config.filters);
  }
  if (kernel === 3) convPadding(t, l, name, stride);
  else if (l.config.padding !== 'same' && l.config.padding !== 'valid') throw weightsError(`${file}: layer ${name} has padding '${String(l.config.padding)}'`);
  checkBatchNormRelu(t, name);
}

/** The classifier: a 1×1 Conv2D named conv_preds, or a Dense (conv_preds or predictions), with a bias. */
function readClassifier(t: TopologyReader): { classes: number; denseClassifier: string | undefined } {
  const { file, layers } = t;
  const preds = t.byName.get('conv_preds');
  let classes: number;
  let denseClassifier: string | undefined;
  if (preds && preds.class_name === 'Conv2D') {
    const k = pair(preds.config.kernel_size);
    if (!k || k[0] !== 1 || k[1] !== 1) throw weightsError(`${file}: layer conv_preds has kernel_size ${JSON.stringify(preds.config.kernel_size)}, expected 1×1`);
    if (preds.config.use_bias === false) throw weightsError(`${file}: layer conv_preds has no bias; expected use_bias true`);
    classes = Number(preds.config.filters);
  } else {
    const dense = (preds && preds.class_name === 'Dense' ? preds : undefined) ?? layers.find((l) => l.class_name === 'Dense' && layerName(l) === 'predictions');
    if (!dense) throw weightsError(`${file}: the topology has no classifier (a Conv2D or Dense named conv_preds, or a Dense named predictions)`);
    if (dense.config.use_bias === false) throw weightsError(`${file}: classifier ${layerName(dense)} has no bias; expected use_bias true`);
    classes = Number(dense.config.units);
    denseClassifier = layerName(dense);
  }
  if (!Number.isInteger(classes) || classes < 1) throw weightsError(`${file}: the classifier has ${String(classes)} outputs`);
  return { classes, denseClassifier };
}

function readTopology(layers: KerasLayer[], file: string): TopologyFacts {
  const byName = new Map<string, KerasLayer>();
  for (const l of layers) byName.set(layerName(l), l);
  const resolution = inputResolution(layers, file);
  const t: TopologyReader = { layers, byName, file, epsilons: new Set(), observed: new Map(), paddingModes: new Set() };
  checkConv(t, 'conv1', 2, 3, false);
  BLOCKS.forEach(([, stride], i) => {
    checkConv(t, `conv_dw_${i + 1}`, stride, 3, true);
    checkConv(t, `conv_pw_${i + 1}`, 1, 1, false);
  });
  const { classes, denseClassifier } = readClassifier(t);

  const { epsilons, observed, paddingModes } = t;
  if (epsilons.size !== 1) throw weightsError(`${file}: BatchNormalization layers use different epsilons ${[...epsilons].join(', ')}; one is expected`);
  if (paddingModes.size !== 1) throw weightsError(`${file}: stride-2 convolutions mix padding styles (${[...paddingModes].join(', ')})`);
  const padding = [...paddingModes][0];
  const alpha = inferAlpha(observed, 'keras', 'mobilenet', file);
  const arch: ArchSpec = { alpha, resolution, classes, channelRule: 'keras', padding, bnEpsilon: [...epsilons][0], variant: 'mobilenet' };
  const explicitAsymmetric = layers.some((l) => l.class_name === 'ZeroPadding2D' && JSON.stringify(zeroPadding(l)) === JSON.stringify([0, 1, 0, 1]));
  if (explicitAsymmetric && !evenAtEveryStride2(arch))
    throw weightsError(`${file}: ZeroPadding2D((0,1),(0,1)) equals TF SAME padding only where every stride-2 layer sees an even size; resolution ${resolution} gives an odd one`);
  return { arch, observed, denseClassifier };
}

function normaliseName(raw: string): string {
  // 'conv1/kernel:0', 'mobilenet_1.00_224/conv1/kernel' → 'conv1/kernel'
  const parts = raw.replace(/:\d+$/, '').split('/');
  return parts.slice(-2).join('/');
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1 };

function decodeEntry(e: ManifestEntry, bytes: Buffer, file: string): Float32Array {
  const n = product(e.shape);
  const q = e.quantization;
  if (!q) {
    if (e.dtype !== 'float32') throw weightsError(`${file}: tensor ${e.name} has dtype ${e.dtype}; only float32 (or quantized uint8/uint16/float16) weights are supported`);
    // Shards are little-endian, as is every platform Node's prebuilt binaries target; a byte copy suffices.
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
    return out;
  }
  if (e.dtype !== 'float32') throw weightsError(`${file}: tensor ${e.name} is quantized to ${q.dtype} from ${e.dtype}; only float32 sources are supported`);
  const out = new Float32Array(n);
  if (q.dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = float16ToFloat32(bytes.readUInt16LE(i * 2));
    return out;
  }
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16') throw weightsError(`${file}: tensor ${e.name} uses quantization dtype ${q.dtype}; expected uint8, uint16 or float16`);
  if (typeof q.scale !== 'number' || typeof q.min !== 'number') throw weightsError(`${file}: tensor ${e.name} has quantization without numeric scale and min`);
  for (let i = 0; i < n; i++) out[i] = (q.dtype === 'uint8' ? bytes[i] : bytes.readUInt16LE(i * 2)) * q.scale + q.min;
  return out;
}

function entryBytes(e: ManifestEntry, file: string): number {
  const size = BYTES[e.quantization ? e.quantization.dtype : e.dtype];
  if (size === undefined) throw weightsError(`${file}: tensor ${e.name} has unknown dtype ${e.quantization?.dtype ?? e.dtype}`);
  return product(e.shape) * size;
}

function readManifest(json: Record<string, unknown>, file: string): ManifestGroup[] {
  const m = json.weightsManifest;
  if (!Array.isArray(m)) throw weightsError(`${file}: no weightsManifest array`);
  return m.map((g, gi) => {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights) || !g.paths.every((p) => typeof p === 'string'))
      throw weightsError(`${file}: weightsManifest group ${gi + 1} is malformed (needs paths and weights arrays)`);
    for (const w of g.weights) {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0) || typeof w.dtype !== 'string')
        throw weightsError(`${file}: weightsManifest group ${gi + 1} has a malformed weight entry ${JSON.stringify(w).slice(0, 120)}`);
    }
    return g as unknown as ManifestGroup;
  });
}

/** A fetched model's recorded hashes (see recordedHashes), as ERR_WEIGHTS on a broken marker. */
function fileHashes(dir: string, file: string): Map<string, string> | undefined {
  try {
    return recordedHashes(dir);
  } catch (e) {
    throw weightsError(`${file}: ${(e as Error).message}`, e);
  }
}

/** In a fetched model every file must still hash to what was recorded at download. */
function verifyHash(hashes: Map<string, string> | undefined, name: string, bytes: Buffer, file: string): void {
  if (!hashes) return;
  const want = hashes.get(name);
  if (want === undefined) throw weightsError(`${file}: ${name} is not in the download marker; fetch the model again`);
  if (createHash('sha256').update(bytes).digest('hex') !== want)
    throw weightsError(`${file}: ${name} does not match the sha256 recorded when it was downloaded (the file changed or is corrupt); fetch the model again`);
}

/** model.json of MobileNet v1 is ~100 KB; anything past this is not one. */
const MAX_MODEL_JSON_BYTES = 16 << 20;

export async function loadTfjsLayers(modelJsonPath: string): Promise<ModelWeights> {
  const file = path.resolve(modelJsonPath);
  const text = readFileOrFail(file, 'TF.js model.json', MAX_MODEL_JSON_BYTES).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw weightsError(`${file}: not valid JSON (${(e as Error).message})`, e);
  }
  if (!isObject(json)) throw weightsError(`${file}: expected a JSON object with modelTopology and weightsManifest`);
  const { arch, denseClassifier } = readTopology(topologyLayers(json, file), file);
  const groups = readManifest(json, file);

  const dir = path.dirname(file);
  const hashes = fileHashes(dir, file);
  verifyHash(hashes, 'model.json', Buffer.from(text, 'utf8'), file);
  const found = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [gi, g] of groups.entries()) {
    const needed = g.weights.reduce((acc, w) => acc + entryBytes(w, file), 0);
    let buffers: Buffer[];
    try {
      buffers = readShards(dir, g.paths, needed);
    } catch (e) {
      if (!(e instanceof WeightFileError)) throw e;
      throw weightsError(`${file}: weight group ${gi + 1} (tensors ${g.weights.map((w) => w.name).slice(0, 4).join(', ')}${g.weights.length > 4 ? ', …' : ''}): ${e.message}`, e);
    }
    g.paths.forEach((p, i) => verifyHash(hashes, p, buffers[i], file));
    const bytes = Buffer.concat(buffers);
    let offset = 0;
    for (const w of g.weights) {
      const size = entryBytes(w, file);
      const data = decodeEntry(w, bytes.subarray(offset, offset + size), `${file} (${g.paths.join(', ')})`);
      offset += size;
      const name = normaliseName(w.name);
      if (found.has(name)) throw weightsError(`${file}: tensor ${name} appears twice in weightsManifest`);
      found.set(name, { data, shape: w.shape });
    }
  }

  const get = (name: string) => {
    if (denseClassifier && name.startsWith('conv_preds/')) {
      const t = found.get(name.replace('conv_preds', denseClassifier));
      // A Dense kernel [cin, classes] has the same memory order as the 1×1 conv kernel [1, 1, cin, classes].
      if (t && name === 'conv_preds/kernel' && t.shape.length === 2) return { data: t.data, shape: [1, 1, ...t.shape] };
      return t;
    }
    return found.get(name);
  };
  // A conv bias (use_bias=true, unusual in MobileNet) folds exactly into the BN mean: BN(x + b) uses mean − b.
  for (const [name, t] of found) {
    const m = /^(conv1|conv_dw_\d+|conv_pw_\d+)\/bias$/.exec(name);
    if (!m) continue;
    const mean = found.get(`${m[1]}_bn/moving_mean`);
    if (!mean || mean.data.length !== t.data.length) throw weightsError(`${file}: tensor ${name} has no matching ${m[1]}_bn/moving_mean to fold into`);
    mean.data = mean.data.map((v, i) => v - t.data[i]);
  }
  for (const [name, t] of found) {
    if (!t.data.every(Number.isFinite)) throw weightsError(`${file}: tensor ${name} (shape ${shapeString(t.shape)}) contains NaN or infinite values`);
  }
  return assemble(arch, file, 'tfjs-layers', get);
}
