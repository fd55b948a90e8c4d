/**
 * TF-slim MobileNet v1 frozen GraphDef (.pb): the variables are Const nodes named
 * MobilenetV1/Conv2d_N_{depthwise,pointwise}/..., which map one-to-one onto the Keras names.
 * The graph's convolution nodes are checked (op, stride, SAME padding) so another network's
 * graph with similar names is not mistaken for MobileNet v1.
 */
import * as path from 'path';
import { ArchSpec, BLOCKS } from '../spec';
import { ModelWeights } from './types';
import { DT_FLOAT, GraphDef, NodeDef, Tensor, graphDefType, toNumber } from './proto/graph';
import { assemble, inferAlpha, product, readFileOrFail, shapeString, weightsError } from './validate';

const SCOPE = 'MobilenetV1/';

function decodeTensor(t: Tensor | undefined, name: string, file: string): { data: Float32Array; shape: number[] } {
  if (!t) throw weightsError(`${file}: Const ${name} has no value`);
  const shape = (t.tensor_shape?.dim ?? []).map((d) => toNumber(d.size));
  if (shape.some((d) => !(d >= 0))) throw weightsError(`${file}: Const ${name} has an invalid shape ${shapeString(shape)}`);
  if (t.dtype !== DT_FLOAT) throw weightsError(`${file}: Const ${name} has TF dtype ${String(t.dtype)}, expected DT_FLOAT (1)`);
  const n = product(shape);
  const content = t.tensor_content;
  if (content && content.length > 0) {
    if (content.length !== n * 4) throw weightsError(`${file}: Const ${name} of shape ${shapeString(shape)} holds ${content.length} bytes, expected ${n * 4}`);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(content);
    return { data, shape };
  }
  const vals = t.float_val ?? [];
  // TensorProto repeats its last value to fill the shape (a splat constant stores one).
  if (vals.length === n || (vals.length >= 1 && vals.length < n)) {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = vals[Math.min(i, vals.length - 1)];
    return { data, shape };
  }
  throw weightsError(`${file}: Const ${name} of shape ${shapeString(shape)} has ${vals.length} float values, expected ${n}`);
}

/** slim variable name (without scope) → Keras tensor name. */
function kerasName(slim: string): string | undefined {
  let m = /^Conv2d_0\/(weights|BatchNorm\/(gamma|beta|moving_mean|moving_variance))$/.exec(slim);
  if (m) return m[2] ? `conv1_bn/${m[2]}` : 'conv1/kernel';
  m = /^Conv2d_(\d+)_(depthwise|pointwise)\/(depthwise_weights|weights|BatchNorm\/(gamma|beta|moving_mean|moving_variance))$/.exec(slim);
  if (m) {
    const layer = `conv_${m[2] === 'depthwise' ? 'dw' : 'pw'}_${m[1]}`;
    if (m[4]) return `${layer}_bn/${m[4]}`;
    if ((m[2] === 'depthwise') !== (m[3] === 'depthwise_weights')) return undefined;
    return m[2] === 'depthwise' ? `${layer}/depthwise_kernel` : `${layer}/kernel`;
  }
  m = /^Logits\/Conv2d_1c_1x1\/(weights|biases)$/.exec(slim);
  if (m) return m[1] === 'weights' ? 'conv_preds/kernel' : 'conv_preds/bias';
  return undefined;
}

/** The graph's nodes, by name, with the helpers that follow its edges. */
interface GraphReader {
  file: string;
  nodes: NodeDef[];
  byName: Map<string, NodeDef>;
}

function readGraph(file: string): GraphReader {
  const bytes = readFileOrFail(file, 'TF-slim frozen graph');
  let graph: GraphDef;
  try {
    graph = graphDefType().decode(bytes) as unknown as GraphDef;
  } catch (e) {
    throw weightsError(`${file}: not a TensorFlow GraphDef protobuf (${(e as Error).message})`, e);
  }
  const nodes = graph.node ?? [];
  if (nodes.length === 0) throw weightsError(`${file}: the GraphDef has no nodes`);
  const byName = new Map<string, NodeDef>();
  for (const n of nodes) byName.set(n.name, n);
  if (!byName.has(`${SCOPE}Conv2d_0/weights`))
    throw weightsError(`${file}: no Const ${SCOPE}Conv2d_0/weights; not a TF-slim MobileNet v1 graph`);
  return { file, nodes, byName };
}

/** Follows Identity (…/read) links back to the Const or Placeholder they forward. */
function origin(g: GraphReader, input: string): NodeDef | undefined {
  let n = g.byName.get(input.replace(/^\^/, '').replace(/:\d+$/, ''));
  for (let hops = 0; n && n.op === 'Identity' && hops < 10; hops++) n = g.byName.get((n.input ?? [])[0]?.replace(/:\d+$/, '') ?? '');
  return n;
}

const text = (v: Uint8Array | undefined): string => (v ? Buffer.from(v).toString('utf8') : '');

/** Checks every body convolution's op, stride and padding; returns the first one (fed by the input). */
function checkConvolutions(g: GraphReader): NodeDef {
  const { file } = g;
  // The convolution op that consumes each weight Const.
  const convOf = new Map<string, NodeDef>();
  for (const n of g.nodes) {
    if (n.op !== 'Conv2D' && n.op !== 'DepthwiseConv2dNative') continue;
    const w = origin(g, (n.input ?? [])[1] ?? '');
    if (w) convOf.set(w.name, n);
  }
  const checkConv = (slimName: string, op: string, stride: number): NodeDef => {
    const conv = convOf.get(slimName);
    if (!conv) throw weightsError(`${file}: no convolution uses ${slimName}; not a TF-slim MobileNet v1 graph`);
    if (conv.op !== op) throw weightsError(`${file}: ${conv.name} is a ${conv.op}, expected ${op}`);
    const strides = (conv.attr?.strides?.list?.i ?? []).map(toNumber);
    if (strides.join() !== `1,${stride},${stride},1`) throw weightsError(`${file}: ${conv.name} has strides [${strides.join(', ')}], expected [1, ${stride}, ${stride}, 1]`);
    const pad = text(conv.attr?.padding?.s);
    if (pad !== 'SAME') throw weightsError(`${file}: ${conv.name} has padding ${pad || '(none)'}, expected SAME`);
    const fmt = text(conv.attr?.data_format?.s);
    if (fmt !== '' && fmt !== 'NHWC') throw weightsError(`${file}: ${conv.name} has data_format ${fmt}, expected NHWC`);
    return conv;
  };
  const conv0 = checkConv(`${SCOPE}Conv2d_0/weights`, 'Conv2D', 2);
  BLOCKS.forEach(([, stride], i) => {
    checkConv(`${SCOPE}Conv2d_${i + 1}_depthwise/depthwise_weights`, 'DepthwiseConv2dNative', stride);
    checkConv(`${SCOPE}Conv2d_${i + 1}_pointwise/weights`, 'Conv2D', 1);
  });
  return conv0;
}

/** The input resolution, from the shape of the Placeholder that feeds the first convolution. */
function inputResolution(g: GraphReader, conv0: NodeDef): number {
  const input = origin(g, (conv0.input ?? [])[0] ?? '');
  if (!input || input.op !== 'Placeholder') throw weightsError(`${g.file}: the first convolution is not fed by a Placeholder; cannot tell the input resolution`);
  const dims = (input.attr?.shape?.shape?.dim ?? []).map((d) => toNumber(d.size));
  if (dims.length !== 4 || dims[1] !== dims[2] || !(dims[1] > 0) || dims[3] !== 3)
    throw weightsError(`${g.file}: input Placeholder ${input.name} has shape [${dims.join(', ')}], expected [N, R, R, 3] with a fixed R`);
  return dims[1];
}

/** BN ε: the y of each unfused batchnorm/add, or the epsilon attribute of a fused BN. */
function batchNormEpsilon(g: GraphReader): number {
  const epsilons = new Set<number>();
  for (const n of g.nodes) {
    if (n.op === 'Add' && /BatchNorm\/batchnorm\/add$/.test(n.name)) {
      const y = origin(g, (n.input ?? [])[1] ?? '');
      if (y?.op === 'Const') epsilons.add(Math.fround(decodeTensor(y.attr?.value?.tensor, y.name, g.file).data[0]));
    } else if (/^FusedBatchNorm/.test(n.op) && n.attr?.epsilon?.f !== undefined) epsilons.add(Math.fround(n.attr.epsilon.f));
  }
  if (epsilons.size > 1) throw weightsError(`${g.file}: batch norms use different epsilons ${[...epsilons].join(', ')}; one is expected`);
  // Stored as float32 0.001 → 0.0010000000474974513; report the decimal it was written as.
  return epsilons.size === 0 ? 1e-3 : Number([...epsilons][0].toPrecision(7));
}

export async function loadTfSlimFrozen(pbPath: string): Promise<ModelWeights> {
  const file = path.resolve(pbPath);
  const g = readGraph(file);
  const found = new Map<string, { data: Float32Array; shape: number[] }>();
  const slimOf = new Map<string, string>();
  for (const n of g.nodes) {
    if (n.op !== 'Const' || !n.name.startsWith(SCOPE)) continue;
    const keras = kerasName(n.name.slice(SCOPE.length));
    if (!keras) continue;
    found.set(keras, decodeTensor(n.attr?.value?.tensor, n.name, file));
    slimOf.set(keras, n.name);
  }
  const resolution = inputResolution(g, checkConvolutions(g));
  const bnEpsilon = batchNormEpsilon(g);

  // slim's batch_norm with scale=False has no gamma: it is 1.
  for (const [keras, t] of [...found]) {
    const m = /^(.*)_bn\/beta$/.exec(keras);
    if (m && !found.has(`${m[1]}_bn/gamma`)) found.set(`${m[1]}_bn/gamma`, { data: new Float32Array(t.data.length).fill(1), shape: t.shape });
  }

  const logits = found.get('conv_preds/kernel');
  if (!logits || logits.shape.length !== 4) throw weightsError(`${file}: tensor ${SCOPE}Logits/Conv2d_1c_1x1/weights is missing or not 4-D; a graph without the classifier is not supported`);
  const classes = logits.shape[3];
  const observed = new Map<string, number>();
  for (const [keras, t] of found) {
    const m = /^(conv1|conv_pw_\d+)\/kernel$/.exec(keras);
    if (m && t.shape.length === 4) observed.set(m[1], t.shape[3]);
  }
  const alpha = inferAlpha(observed, 'slim', 'mobilenet', file);
  const arch: ArchSpec = { alpha, resolution, classes, channelRule: 'slim', padding: 'same', bnEpsilon, variant: 'mobilenet' };
  const weights = assemble(arch, file, 'tf-slim-frozen', (name) => found.get(name));
  for (const [name, t] of weights.tensors) {
    if (!t.every(Number.isFinite)) throw weightsError(`${file}: tensor ${slimOf.get(name) ?? name} contains NaN or infinite values`);
  }
  return weights;
}
