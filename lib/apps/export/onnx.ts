/**
 * Exports a MobileNet (any loader's ModelWeights) as an ONNX model, so that other runtimes
 * (onnxruntime in the benchmark) run exactly the network this engine runs.
 *
 * Graph (opset 13):
 *   input  "input"  float [N, R, R, 3] NHWC, the same tensor `infer()` takes; a Transpose to NCHW is
 *          the graph's first node so callers never reorder by hand.
 *   conv1, conv_dw_k (Conv with group = channels), conv_pw_k: BN folded into weight and bias (in double,
 *          as the native engine folds), explicit pads [top, left, bottom, right] from lib/core/spec.ts so the
 *          TF "SAME" asymmetric stride-2 padding is reproduced, then Clip(0, 6).
 *   GlobalAveragePool → Flatten → output "embedding" [N, C]
 *   Gemm (kernel [C, classes] as B, bias as C) → output "logits" [N, classes]
 *   Softmax(axis 1) → output "probabilities" [N, classes]
 */
import { MobileNetError, buildLayers, type LayerSpec, type ModelWeights } from '../../core';
import { ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, onnxType } from './onnx-proto';

export const ONNX_OPSET = 13;
/** IR version 7 is the one that goes with opset 13. */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUTS = ['probabilities', 'logits', 'embedding'] as const;

export interface OnnxExportOptions {
  /** Fixes the batch dimension; default: symbolic "N" so one file serves every batch size. */
  batch?: number;
  producerVersion?: string;
}

interface Tensor { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }
interface Attribute { name: string; type: number; i?: number; f?: number; ints?: number[] }
interface Node { name: string; op_type: string; input: string[]; output: string[]; attribute: Attribute[] }

function floatTensor(name: string, dims: number[], data: Float32Array): Tensor {
  // raw_data is little-endian; Float32Array is host order, and every platform Node ships on is LE.
  return { name, dims, data_type: ONNX_FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const ints = (name: string, v: number[]): Attribute => ({ name, type: ATTR_INTS, ints: v });
const int = (name: string, v: number): Attribute => ({ name, type: ATTR_INT, i: v });
const float = (name: string, v: number): Attribute => ({ name, type: ATTR_FLOAT, f: v });

function tensorOf(w: ModelWeights, name: string, size: number): Float32Array {
  const t = w.tensors.get(name);
  if (!(t instanceof Float32Array) || t.length !== size)
    throw new MobileNetError('ERR_WEIGHTS', `ONNX export: tensor ${name} should be a Float32Array of ${size} values, got ${t instanceof Float32Array ? t.length + ' values' : typeof t}`);
  return t;
}

/** BN folded into an OIHW (or [C,1,k,k] depthwise) kernel and a bias, exactly as native/engine/network.cc folds it. */
export function foldConv(w: ModelWeights, l: LayerSpec): { kernel: Float32Array; bias: Float32Array; dims: number[] } {
  const k = l.kernel, cin = l.inChannels, cout = l.outChannels;
  const dw = l.type === 'dw';
  const src = tensorOf(w, `${l.name}/${dw ? 'depthwise_kernel' : 'kernel'}`, dw ? k * k * cin : k * k * cin * cout);
  const [gamma, beta, mean, variance] = (['gamma', 'beta', 'moving_mean', 'moving_variance'] as const).map((p) => tensorOf(w, `${l.name}_bn/${p}`, cout));
  const eps = w.arch.bnEpsilon;
  const scale = new Float64Array(cout);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const v = variance[o] + eps;
    if (!(v > 0)) throw new MobileNetError('ERR_WEIGHTS', `ONNX export: ${l.name}_bn/moving_variance + epsilon is not positive at channel ${o}`);
    scale[o] = gamma[o] / Math.sqrt(v);
    bias[o] = beta[o] - mean[o] * scale[o];
  }
  const kernel = new Float32Array(src.length);
  if (dw) {
    // TF [kh][kw][c][1] → ONNX [c][1][kh][kw]
    for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let c = 0; c < cin; c++)
      kernel[(c * k + y) * k + x] = src[(y * k + x) * cin + c] * scale[c];
    return { kernel, bias, dims: [cin, 1, k, k] };
  }
  // TF HWIO [kh][kw][i][o] → ONNX OIHW
  for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++)
    kernel[((o * cin + i) * k + y) * k + x] = src[((y * k + x) * cin + i) * cout + o] * scale[o];
  return { kernel, bias, dims: [cout, cin, k, k] };
}

/** The ONNX ModelProto of these weights, serialised. */
export function exportOnnx(weights: ModelWeights, options: OnnxExportOptions = {}): Uint8Array {
  if (!weights || !(weights.tensors instanceof Map) || !weights.arch)
    throw new MobileNetError('ERR_WEIGHTS', 'ONNX export needs a ModelWeights object { arch, tensors: Map }');
  if (options.batch !== undefined && !(Number.isInteger(options.batch) && options.batch >= 1))
    throw new MobileNetError('ERR_INVALID_ARGUMENT', `batch must be a positive integer, got ${String(options.batch)}`);
  const layers = buildLayers(weights.arch);
  const R = weights.arch.resolution;
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  initializers.push(floatTensor('relu6_min', [], new Float32Array([0])));
  initializers.push(floatTensor('relu6_max', [], new Float32Array([6])));

  nodes.push({ name: 'to_nchw', op_type: 'Transpose', input: [ONNX_INPUT], output: ['input_nchw'], attribute: [ints('perm', [0, 3, 1, 2])] });
  let cur = 'input_nchw';
  for (const l of layers) {
    if (l.type === 'conv' || l.type === 'dw' || l.type === 'pw') {
      const { kernel, bias, dims } = foldConv(weights, l);
      initializers.push(floatTensor(`${l.name}/W`, dims, kernel), floatTensor(`${l.name}/B`, [l.outChannels], bias));
      nodes.push({
        name: l.name, op_type: 'Conv', input: [cur, `${l.name}/W`, `${l.name}/B`], output: [`${l.name}/conv`],
        attribute: [
          ints('kernel_shape', [l.kernel, l.kernel]), ints('strides', [l.stride, l.stride]), ints('pads', l.pad),
          ints('dilations', [1, 1]), int('group', l.type === 'dw' ? l.inChannels : 1),
        ],
      });
      nodes.push({ name: `${l.name}/relu6`, op_type: 'Clip', input: [`${l.name}/conv`, 'relu6_min', 'relu6_max'], output: [`${l.name}/out`], attribute: [] });
      cur = `${l.name}/out`;
    } else if (l.type === 'pool') {
      nodes.push({ name: 'avg_pool', op_type: 'GlobalAveragePool', input: [cur], output: ['pooled'], attribute: [] });
      nodes.push({ name: 'flatten', op_type: 'Flatten', input: ['pooled'], output: ['embedding'], attribute: [int('axis', 1)] });
      cur = 'embedding';
    } else if (l.type === 'fc') {
      // TF kernel [1, 1, C, classes] is already Gemm's B = [C, classes].
      const b = tensorOf(weights, `${l.name}/kernel`, l.inChannels * l.outChannels);
      const c = tensorOf(weights, `${l.name}/bias`, l.outChannels);
      initializers.push(floatTensor(`${l.name}/W`, [l.inChannels, l.outChannels], b), floatTensor(`${l.name}/B`, [l.outChannels], c));
      nodes.push({
        name: l.name, op_type: 'Gemm', input: [cur, `${l.name}/W`, `${l.name}/B`], output: ['logits'],
        attribute: [float('alpha', 1), float('beta', 1), int('transA', 0), int('transB', 0)],
      });
      cur = 'logits';
    } else if (l.type === 'softmax') {
      nodes.push({ name: 'softmax', op_type: 'Softmax', input: [cur], output: ['probabilities'], attribute: [int('axis', 1)] });
    }
  }

  const batchDim = options.batch !== undefined ? { dim_value: options.batch } : { dim_param: 'N' };
  const valueInfo = (name: string, dims: number[]) => ({
    name,
    type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: [batchDim, ...dims.map((d) => ({ dim_value: d }))] } } },
  });
  const classes = weights.arch.classes;
  const width = layers.find((l) => l.type === 'fc')!.inChannels;
  const model = {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'mobilenet-native',
    producer_version: options.producerVersion ?? '0',
    doc_string: `MobileNet v1 α=${weights.arch.alpha} ${R}px, ${classes} classes, ${weights.arch.padding} padding, BN folded; weights ${weights.source}. Input NHWC in [-1, 1].`,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: `mobilenet_v1_${weights.arch.alpha}_${R}`,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(ONNX_INPUT, [R, R, 3])],
      output: [valueInfo('probabilities', [classes]), valueInfo('logits', [classes]), valueInfo('embedding', [width])],
    },
  };
  const type = onnxType('ModelProto');
  const err = type.verify(model);
  if (err) throw new MobileNetError('ERR_NATIVE', `ONNX export built an invalid ModelProto: ${err}`);
  return type.encode(type.fromObject(model)).finish();
}
