/** The weights load() runs: random ones for an architecture, a file, a ModelWeights object or the official release. */
import { describe, fail } from './errors';
import type { LoadOptions } from './model-options';
import { DEFAULT_ARCH, validateArch, weightedLayers, type ArchSpec } from './spec';
import { loadWeights, randomWeights } from './weights';
import { BUNDLED_WEIGHTS, officialWeights } from './weights/official';
import { expectedTensors, type ModelWeights } from './weights/types';

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

export async function resolveWeights(opts: LoadOptions): Promise<ModelWeights> {
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
