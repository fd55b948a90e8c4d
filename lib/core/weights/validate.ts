/**
 * Checks shared by every weight loader, so that each format reports the same mistakes the same way.
 */
import { readRegularFile } from './files';
import { MobileNetError } from '../errors';
import { ArchSpec, BLOCKS, ChannelRule, Variant, buildLayers, channels, weightedLayers } from '../spec';
import { ModelWeights, expectedTensors } from './types';

export function weightsError(message: string, cause?: unknown): MobileNetError {
  return new MobileNetError('ERR_WEIGHTS', message, cause === undefined ? undefined : { cause });
}

/** A weight file's bytes: a regular file (not a device or FIFO) of at most maxBytes, else ERR_WEIGHTS. */
export function readFileOrFail(path: string, what: string, maxBytes = 2 ** 31 - 1): Buffer {
  try {
    return readRegularFile(path, maxBytes);
  } catch (e) {
    throw weightsError(`cannot read ${what} ${path}: ${(e as Error).message}`, e);
  }
}

export function shapeString(shape: ReadonlyArray<number>): string {
  return `[${shape.join(', ')}]`;
}

export function product(shape: ReadonlyArray<number>): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The α that reproduces every observed output-channel count under `rule`, or an error.
 * Observed counts are keyed by Keras layer name (conv1, conv_pw_N, conv_full_N); a width
 * multiplier is only defined up to the floor in int(α·d), so the familiar published values are
 * tried first, then the narrowest interval the observations allow.
 */
export function inferAlpha(observed: Map<string, number>, rule: ChannelRule, variant: Variant, source: string): number {
  const bases = new Map<string, number>([['conv1', 32]]);
  BLOCKS.forEach(([base], i) => {
    bases.set(`conv_pw_${i + 1}`, base);
    bases.set(`conv_full_${i + 1}`, base);
  });
  const candidates = [1, 0.75, 0.5, 0.35, 0.25, 0.125];
  for (const [name, c] of observed) {
    const base = bases.get(name);
    if (base !== undefined) candidates.push(c / base, (c + 0.5) / base);
  }
  for (const alpha of candidates) {
    if (!(alpha > 0 && alpha <= 1)) continue;
    let ok = true;
    for (const [name, c] of observed) {
      const base = bases.get(name);
      if (base !== undefined && channels(base, alpha, rule) !== c) { ok = false; break; }
    }
    if (ok && channels(32, alpha, rule) >= 1) return alpha;
  }
  const seen = [...observed].map(([n, c]) => `${n}=${c}`).join(', ');
  throw weightsError(`${source}: no width multiplier α in (0, 1] gives the observed channel counts under the '${rule}' rule (${variant}): ${seen}`);
}

/**
 * Builds the ModelWeights from a lookup, checking that every tensor the architecture needs is
 * present with exactly the expected shape. `get` returns the tensor and its shape in TF layout.
 */
export function assemble(
  arch: ArchSpec,
  source: string,
  format: string,
  get: (name: string) => { data: Float32Array; shape: number[] } | undefined,
): ModelWeights {
  let expected;
  try {
    expected = expectedTensors(weightedLayers(arch));
  } catch (e) {
    throw weightsError(`${source}: the architecture read from the file is invalid: ${(e as Error).message}`, e);
  }
  const tensors = new Map<string, Float32Array>();
  for (const { name, shape } of expected) {
    const t = get(name);
    if (!t) throw weightsError(`${source}: tensor ${name} (shape ${shapeString(shape)}) is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw weightsError(`${source}: tensor ${name} has shape ${shapeString(t.shape)}, expected ${shapeString(shape)}`);
    if (t.data.length !== product(shape))
      throw weightsError(`${source}: tensor ${name} holds ${t.data.length} values, expected ${product(shape)}`);
    if (name.endsWith('/moving_variance')) {
      const bad = t.data.findIndex((v) => !(v >= 0));
      if (bad >= 0) throw weightsError(`${source}: tensor ${name} has a negative or NaN variance ${t.data[bad]} at index ${bad}`);
    }
    tensors.set(name, t.data);
  }
  return { arch, tensors, source, format };
}

/** Resolutions where every stride-2 layer sees an even input, so TF SAME pads bottom/right only. */
export function evenAtEveryStride2(arch: ArchSpec): boolean {
  return buildLayers(arch).every((l) => l.stride !== 2 || l.inputShape[0] % 2 === 0);
}

/** IEEE 754 half precision (as stored by TF.js float16 manifests and safetensors F16) to a number. */
export function float16ToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
