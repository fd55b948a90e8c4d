/**
 * Table 1 of the MobileNet v1 paper as data, for any width multiplier α and input resolution.
 * The native engine derives the same table in native/engine/spec.cc; a test keeps the two equal.
 */
import { MobileNetError } from './errors';
import { LIMITS } from './limits';
import { int, number, oneOf } from './validate';

/** `keras`: int(α·d), as Keras / TF.js do. `slim`: max(int(α·d), 8), as TF-slim does. */
export type ChannelRule = 'keras' | 'slim';
/** `same`: TF "SAME" (stride-2 pads bottom/right only for even inputs). `symmetric`: pad 1 on every side (PyTorch style). */
export type PaddingMode = 'same' | 'symmetric';
/** `mobilenet`: Table 1. `full-conv`: each separable block replaced by one standard 3×3 conv (Table 4). `shallow`: the five 14×14×512 blocks removed (Table 5). */
export type Variant = 'mobilenet' | 'full-conv' | 'shallow';

export interface ArchSpec {
  alpha: number;
  resolution: number;
  classes: number;
  channelRule: ChannelRule;
  padding: PaddingMode;
  bnEpsilon: number;
  variant: Variant;
}

export const DEFAULT_ARCH: ArchSpec = {
  alpha: 1,
  resolution: 224,
  classes: 1000,
  channelRule: 'keras',
  padding: 'same',
  bnEpsilon: 1e-3,
  variant: 'mobilenet',
};

export type LayerType = 'conv' | 'dw' | 'pw' | 'pool' | 'fc' | 'softmax';

export interface LayerSpec {
  /** Keras layer name of the weights (`conv1`, `conv_dw_3`, `conv_pw_3`, `conv_full_3`, `conv_preds`), or a label for weightless layers. */
  name: string;
  type: LayerType;
  kernel: number;
  stride: number;
  inChannels: number;
  outChannels: number;
  /** [height, width, channels] */
  inputShape: [number, number, number];
  outputShape: [number, number, number];
  /** Padding [top, left, bottom, right] for convolutions; zeros otherwise. */
  pad: [number, number, number, number];
  /** Multiply-adds per image (the paper's "mult-adds"). */
  macs: number;
  /** Learned parameters as the paper counts them: conv/FC weights and the FC bias; BN is excluded (it folds away). */
  params: number;
  /** Parameters including BN γ, β, mean and variance (what Keras reports). */
  paramsWithBN: number;
}

/** (pointwise output channels at α=1, stride of the block's 3×3 layer) for the 13 separable blocks. */
export const BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1],
  [1024, 2], [1024, 1],
];
/** Blocks (1-based) that the shallow variant removes: the five 14×14×512 ones. */
export const SHALLOW_REMOVED = new Set([7, 8, 9, 10, 11]);

export function channels(base: number, alpha: number, rule: ChannelRule): number {
  // The epsilon keeps e.g. 0.75·64 = 48 from becoming 47.999… → 47 for α typed as decimals.
  const scaled = Math.floor(base * alpha + 1e-9);
  return rule === 'slim' ? Math.max(scaled, 8) : scaled;
}

export function padding(size: number, kernel: number, stride: number, mode: PaddingMode): [number, number, number] {
  // returns [before, after, outputSize]
  if (kernel === 1) return [0, 0, Math.floor((size - 1) / stride) + 1];
  if (mode === 'symmetric') {
    const half = (kernel - 1) / 2;
    return [half, half, Math.floor((size + 2 * half - kernel) / stride) + 1];
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before, out];
}

export function validateArch(spec: ArchSpec): void {
  const { alpha, resolution, classes, channelRule, padding: pad, bnEpsilon, variant } = spec;
  number(alpha, 'alpha', 0, 1, true);
  int(resolution, 'resolution', LIMITS.resolution.min, LIMITS.resolution.max);
  int(classes, 'classes', 1, LIMITS.classes);
  oneOf(channelRule, 'channelRule', ['keras', 'slim']);
  oneOf(pad, 'padding', ['same', 'symmetric']);
  number(bnEpsilon, 'bnEpsilon', 0, 1);
  oneOf(variant, 'variant', ['mobilenet', 'full-conv', 'shallow']);
  if (channels(32, alpha, channelRule) < 1)
    throw new MobileNetError('ERR_INVALID_ARGUMENT', `alpha ${alpha} leaves the first layer with no channels under the '${channelRule}' rule (needs α ≥ 1/32)`);
}

/** The layer list of Table 1 for a configuration: shapes, padding, mult-adds and parameters. */
export function buildLayers(spec: ArchSpec): LayerSpec[] {
  validateArch(spec);
  const layers: LayerSpec[] = [];
  let h = spec.resolution;
  let c = 3;
  const conv = (name: string, type: 'conv' | 'dw' | 'pw', kernel: number, stride: number, cout: number) => {
    const [pb, pa, out] = padding(h, kernel, stride, spec.padding);
    const weights = type === 'dw' ? kernel * kernel * c : kernel * kernel * c * cout;
    layers.push({
      name, type, kernel, stride, inChannels: c, outChannels: cout,
      inputShape: [h, h, c], outputShape: [out, out, cout], pad: [pb, pb, pa, pa],
      macs: out * out * weights, params: weights, paramsWithBN: weights + 4 * cout,
    });
    h = out;
    c = cout;
  };
  conv('conv1', 'conv', 3, 2, channels(32, spec.alpha, spec.channelRule));
  BLOCKS.forEach(([base, stride], i) => {
    const n = i + 1;
    if (spec.variant === 'shallow' && SHALLOW_REMOVED.has(n)) return;
    const cout = channels(base, spec.alpha, spec.channelRule);
    if (spec.variant === 'full-conv') {
      conv(`conv_full_${n}`, 'conv', 3, stride, cout);
    } else {
      conv(`conv_dw_${n}`, 'dw', 3, stride, c);
      conv(`conv_pw_${n}`, 'pw', 1, 1, cout);
    }
  });
  layers.push({
    name: 'avg_pool', type: 'pool', kernel: h, stride: 1, inChannels: c, outChannels: c,
    inputShape: [h, h, c], outputShape: [1, 1, c], pad: [0, 0, 0, 0], macs: 0, params: 0, paramsWithBN: 0,
  });
  const fc = c * spec.classes;
  layers.push({
    name: 'conv_preds', type: 'fc', kernel: 1, stride: 1, inChannels: c, outChannels: spec.classes,
    inputShape: [1, 1, c], outputShape: [1, 1, spec.classes], pad: [0, 0, 0, 0],
    macs: fc, params: fc + spec.classes, paramsWithBN: fc + spec.classes,
  });
  layers.push({
    name: 'softmax', type: 'softmax', kernel: 1, stride: 1, inChannels: spec.classes, outChannels: spec.classes,
    inputShape: [1, 1, spec.classes], outputShape: [1, 1, spec.classes], pad: [0, 0, 0, 0], macs: 0, params: 0, paramsWithBN: 0,
  });
  return layers;
}

export interface Cost {
  macs: number;
  params: number;
  paramsWithBN: number;
}

export function cost(spec: ArchSpec): Cost {
  return buildLayers(spec).reduce(
    (acc, l) => ({ macs: acc.macs + l.macs, params: acc.params + l.params, paramsWithBN: acc.paramsWithBN + l.paramsWithBN }),
    { macs: 0, params: 0, paramsWithBN: 0 },
  );
}

/** Width of the pooled feature vector (what `embed` returns). */
export function featureWidth(spec: ArchSpec): number {
  const layers = buildLayers(spec);
  return layers[layers.length - 3].outChannels;
}

/** The layers that carry weights, in the order the native engine expects them. */
export function weightedLayers(spec: ArchSpec): LayerSpec[] {
  return buildLayers(spec).filter((l) => l.type === 'conv' || l.type === 'dw' || l.type === 'pw' || l.type === 'fc');
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

const TYPE_NAMES: Record<string, string> = { conv: 'Conv', dw: 'Conv dw', pw: 'Conv', pool: 'Avg Pool', fc: 'FC', softmax: 'Softmax' };

export function summarize(layers: LayerSpec[]): SummaryRow[] {
  return layers.map((l) => {
    let filter: string;
    if (l.type === 'dw') filter = `${l.kernel} × ${l.kernel} × ${l.inChannels} dw`;
    else if (l.type === 'conv' || l.type === 'pw') filter = `${l.kernel} × ${l.kernel} × ${l.inChannels} × ${l.outChannels}`;
    else if (l.type === 'pool') filter = `Pool ${l.kernel} × ${l.kernel}`;
    else if (l.type === 'fc') filter = `${l.inChannels} × ${l.outChannels}`;
    else filter = 'Classifier';
    const stride = l.type === 'conv' || l.type === 'dw' || l.type === 'pw' ? ` / s${l.stride}` : ' / s1';
    return { name: l.name, type: TYPE_NAMES[l.type] + stride, filter, input: l.inputShape, output: l.outputShape, macs: l.macs, params: l.params };
  });
}
