/**
 * safetensors with the parameter names of a from-scratch PyTorch MobileNet v1 (see weights/README.md):
 *   conv1.weight [C,3,3,3]  conv_dw_N.weight [C,1,3,3]  conv_pw_N.weight [Cout,Cin,1,1]
 *   conv_full_N.weight [Cout,Cin,3,3]  <layer>_bn.{weight,bias,running_mean,running_var}
 *   fc.weight [classes,Cin] (or [classes,Cin,1,1])  fc.bias [classes]
 * PyTorch layouts (OIHW) are transposed to the TF layouts of ModelWeights. The container
 * (u64 LE header length, JSON header, raw data) is parsed here: it is small and fully specified,
 * and every offset is checked so a damaged file cannot produce silently wrong weights.
 */
import * as path from 'path';
import { ArchSpec, ChannelRule, PaddingMode, Variant } from '../spec';
import { ModelWeights, expectedTensors } from './types';
import { weightedLayers } from '../spec';
import { assemble, inferAlpha, product, float16ToFloat32, readFileOrFail, shapeString, weightsError } from './validate';

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
/** Headers larger than this are not weights of a ~4 M-parameter network; refuse before JSON.parse. */
const MAX_HEADER = 16 * 1024 * 1024;

interface RawTensor { dtype: string; shape: number[]; bytes: Buffer }

function toFloat32(t: RawTensor): Float32Array {
  const n = product(t.shape);
  const out = new Float32Array(n);
  const b = t.bytes;
  if (t.dtype === 'F32') new Uint8Array(out.buffer).set(b);
  else if (t.dtype === 'F64') for (let i = 0; i < n; i++) out[i] = b.readDoubleLE(i * 8);
  else if (t.dtype === 'F16') for (let i = 0; i < n; i++) out[i] = float16ToFloat32(b.readUInt16LE(i * 2));
  else if (t.dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = b.readUInt16LE(i * 2) << 16;
  }
  return out;
}

/** Parses and validates the container; returns the tensors by name and the string metadata. */
export function parseSafetensors(bytes: Buffer, file: string): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw weightsError(`${file}: ${bytes.length} bytes is too short for a safetensors file (needs an 8-byte header length)`);
  const headerLen = bytes.readBigUInt64LE(0);
  if (headerLen > BigInt(Math.min(MAX_HEADER, bytes.length - 8)))
    throw weightsError(`${file}: header length ${headerLen} exceeds the ${bytes.length - 8} bytes after it (truncated or not safetensors)`);
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    throw weightsError(`${file}: the safetensors header is not valid JSON (${(e as Error).message})`, e);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw weightsError(`${file}: the safetensors header is not a JSON object`);
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, RawTensor>();
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw weightsError(`${file}: __metadata__ is not an object of strings`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw weightsError(`${file}: __metadata__.${k} is ${typeof v}, expected a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw weightsError(`${file}: header entry ${name} is not an object`);
    const size = typeof e.dtype === 'string' ? DTYPE_BYTES[e.dtype] : undefined;
    if (size === undefined) throw weightsError(`${file}: tensor ${name} has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw weightsError(`${file}: tensor ${name} has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1])
      throw weightsError(`${file}: tensor ${name} has invalid data_offsets ${JSON.stringify(off)}`);
    if (off[1] > data.length) throw weightsError(`${file}: tensor ${name} ends at byte ${off[1]} of the data, which has only ${data.length} bytes (truncated file?)`);
    const shape = e.shape as number[];
    if (off[1] - off[0] !== product(shape) * size)
      throw weightsError(`${file}: tensor ${name} (${e.dtype} ${shapeString(shape)}) spans ${off[1] - off[0]} bytes, expected ${product(shape) * size}`);
    spans.push([off[0], off[1], name]);
    tensors.set(name, { dtype: e.dtype as string, shape, bytes: data.subarray(off[0], off[1]) });
  }
  // The format requires the tensors to tile the data exactly: no overlap, no gap, nothing after.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [b, e, name] of spans) {
    if (b !== at) throw weightsError(`${file}: tensor ${name} starts at data byte ${b}, expected ${at} (${b < at ? 'overlapping' : 'a gap between'} tensors)`);
    at = e;
  }
  if (at !== data.length) throw weightsError(`${file}: the tensors cover ${at} of ${data.length} data bytes; the rest is unaccounted for`);
  return { tensors, metadata };
}

/** Keras/TF tensor name → PyTorch parameter name. */
export function torchName(tfName: string): string {
  const [layer, part] = tfName.split('/');
  if (layer === 'conv_preds') return part === 'kernel' ? 'fc.weight' : 'fc.bias';
  const bn: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
  return part in bn ? `${layer}.${bn[part]}` : `${layer}.weight`;
}

function metaNumber(meta: Record<string, string>, key: string, file: string): number | undefined {
  if (!(key in meta)) return undefined;
  const v = Number(meta[key]);
  if (meta[key].trim() === '' || !Number.isFinite(v)) throw weightsError(`${file}: __metadata__.${key} is ${JSON.stringify(meta[key])}, expected a number`);
  return v;
}

function metaChoice<T extends string>(meta: Record<string, string>, key: string, allowed: readonly T[], fallback: T, file: string): T {
  if (!(key in meta)) return fallback;
  if (!(allowed as readonly string[]).includes(meta[key])) throw weightsError(`${file}: __metadata__.${key} is ${JSON.stringify(meta[key])}, expected one of ${allowed.join(', ')}`);
  return meta[key] as T;
}

export async function loadSafetensors(filePath: string): Promise<ModelWeights> {
  const file = path.resolve(filePath);
  const { tensors, metadata } = parseSafetensors(readFileOrFail(file, 'safetensors file'), file);
  const has = (name: string) => tensors.has(name);
  if (!has('conv1.weight')) throw weightsError(`${file}: no tensor conv1.weight; not a MobileNet v1 with the documented PyTorch names (see weights/README.md)`);

  const inferredVariant: Variant = has('conv_full_1.weight') ? 'full-conv' : !has('conv_dw_7.weight') && has('conv_dw_12.weight') ? 'shallow' : 'mobilenet';
  const variant = metaChoice(metadata, 'variant', ['mobilenet', 'full-conv', 'shallow'] as const, inferredVariant, file);
  const channelRule = metaChoice<ChannelRule>(metadata, 'channel_rule', ['keras', 'slim'], 'keras', file);
  const padding = metaChoice<PaddingMode>(metadata, 'padding', ['same', 'symmetric'], 'symmetric', file);
  const bnEpsilon = metaNumber(metadata, 'bn_eps', file) ?? 1e-5;
  const resolution = metaNumber(metadata, 'resolution', file) ?? 224;
  const fcBias = tensors.get('fc.bias');
  if (!fcBias || fcBias.shape.length !== 1) throw weightsError(`${file}: tensor fc.bias is missing or not 1-D; the classifier is required`);
  const classes = metaNumber(metadata, 'classes', file) ?? fcBias.shape[0];
  let alpha = metaNumber(metadata, 'alpha', file);
  if (alpha === undefined) {
    const observed = new Map<string, number>();
    for (const [name, t] of tensors) {
      const m = /^(conv1|conv_pw_\d+|conv_full_\d+)\.weight$/.exec(name);
      if (m && t.shape.length === 4) observed.set(m[1], t.shape[0]);
    }
    alpha = inferAlpha(observed, channelRule, variant, file);
  }
  const arch: ArchSpec = { alpha, resolution, classes, channelRule, padding, bnEpsilon, variant };

  let expected;
  try {
    expected = expectedTensors(weightedLayers(arch));
  } catch (e) {
    throw weightsError(`${file}: the architecture in its metadata is invalid: ${(e as Error).message}`, e);
  }
  const converted = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const { name, shape } of expected) {
    const pt = torchName(name);
    const t = tensors.get(pt);
    if (!t) throw weightsError(`${file}: tensor ${pt} (for ${name}) is missing`);
    if (!FLOAT_DTYPES.has(t.dtype)) throw weightsError(`${file}: tensor ${pt} has dtype ${t.dtype}; expected F32, F16, BF16 or F64`);
    const src = toFloat32(t);
    let ptShape: number[];
    let data: Float32Array;
    if (shape.length === 4) {
      // TF HWIO [H,W,I,O] ← PyTorch OIHW [O,I,H,W]; a depthwise HWIM [H,W,C,1] ← [C,1,H,W] is the same map with I=1, O=C.
      const [H, W, I, O] = name.endsWith('/depthwise_kernel') ? [shape[0], shape[1], 1, shape[2]] : shape;
      ptShape = name === 'conv_preds/kernel' && t.shape.length === 2 ? [O, I] : [O, I, H, W];
      if (t.shape.join() !== ptShape.join()) throw weightsError(`${file}: tensor ${pt} has shape ${shapeString(t.shape)}, expected ${shapeString(ptShape)}`);
      data = new Float32Array(src.length);
      for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++)
        data[((h * W + w) * I + i) * O + o] = src[((o * I + i) * H + h) * W + w];
    } else {
      ptShape = shape;
      if (t.shape.join() !== ptShape.join()) throw weightsError(`${file}: tensor ${pt} has shape ${shapeString(t.shape)}, expected ${shapeString(ptShape)}`);
      data = src;
    }
    if (!data.every(Number.isFinite)) throw weightsError(`${file}: tensor ${pt} contains NaN or infinite values`);
    converted.set(name, { data, shape });
  }
  return assemble(arch, file, 'safetensors', (name) => converted.get(name));
}
