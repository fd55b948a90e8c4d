/**
 * INT8 calibration files: the activation range of every conv layer, measured once on real images by
 * `mobilenet quantize`, so that later `load({ precision: 'int8', calibration })` needs no images.
 *
 * Format (JSON, UTF-8), version 1:
 * ```json
 * {
 *   "format": "mobilenet-native-calibration", "version": 1,
 *   "model": { "alpha": 0.75, "resolution": 224, "classes": 1000, "channelRule": "keras",
 *              "padding": "same", "variant": "mobilenet", "bnEpsilon": 0.001,
 *              "weightsSha256": "<sha256 of every weight tensor's float32 bytes, in canonical order>" },
 *   "method": "max", "images": 200, "source": "<image dir>", "created": "<ISO date>",
 *   "layers": [ { "name": "conv1", "max": 5.87, "scale": 0.02302 }, … one per conv/dw/pw layer ]
 * }
 * ```
 * `max` is the largest output of that layer (post-ReLU6, so ≤ 6) over the calibration images; the
 * engine quantises the layer's u8 output with step `scale = max / 255`. `scale` is informative: the
 * engine recomputes it from `max`. The model block is a fingerprint: a file made for other weights
 * or another configuration is refused, because its ranges would silently clip or waste levels.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { describe, fail } from './errors';
import { weightedLayers, type ArchSpec } from './spec';
import { expectedTensors, type ModelWeights } from './weights/types';

export const CALIBRATION_FORMAT = 'mobilenet-native-calibration';
export const CALIBRATION_VERSION = 1;

export interface CalibrationModel {
  alpha: number;
  resolution: number;
  classes: number;
  channelRule: string;
  padding: string;
  variant: string;
  bnEpsilon: number;
  weightsSha256: string;
}

export interface CalibrationLayer {
  name: string;
  max: number;
  scale: number;
}

export interface Calibration {
  format: typeof CALIBRATION_FORMAT;
  version: typeof CALIBRATION_VERSION;
  model: CalibrationModel;
  method: 'max';
  images: number;
  source?: string;
  created?: string;
  layers: CalibrationLayer[];
}

/** Names of the layers that carry an activation range: every conv, depthwise and pointwise layer. */
export function convLayerNames(arch: ArchSpec): string[] {
  return weightedLayers(arch).filter((l) => l.type !== 'fc').map((l) => l.name);
}

/** SHA-256 of the weights as the engine sees them: each expected tensor's bytes, in canonical order. */
export function weightsFingerprint(weights: ModelWeights): string {
  const h = createHash('sha256');
  for (const { name } of expectedTensors(weightedLayers(weights.arch))) {
    const t = weights.tensors.get(name);
    if (t) h.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  }
  return h.digest('hex');
}

export function modelFingerprint(weights: ModelWeights): CalibrationModel {
  const a = weights.arch;
  return {
    alpha: a.alpha, resolution: a.resolution, classes: a.classes, channelRule: a.channelRule,
    padding: a.padding, variant: a.variant, bnEpsilon: a.bnEpsilon, weightsSha256: weightsFingerprint(weights),
  };
}

export function makeCalibration(weights: ModelWeights, maxima: Float32Array, images: number, source?: string): Calibration {
  const names = convLayerNames(weights.arch);
  if (maxima.length !== names.length)
    fail('ERR_CALIBRATION', `calibration measured ${maxima.length} layers, the model has ${names.length} conv layers`);
  return {
    format: CALIBRATION_FORMAT,
    version: CALIBRATION_VERSION,
    model: modelFingerprint(weights),
    method: 'max',
    images,
    source,
    created: new Date().toISOString(),
    layers: names.map((name, i) => ({ name, max: maxima[i], scale: maxima[i] / 255 })),
  };
}

export function saveCalibration(file: string, c: Calibration): void {
  // Write then rename, so an interrupted run never leaves a truncated file under the final name.
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(c, null, 1) + '\n');
  fs.renameSync(tmp, file);
}

/** Reads and checks a calibration file's structure. Every problem is ERR_CALIBRATION naming the file. */
export function readCalibration(file: string): Calibration {
  if (typeof file !== 'string' || file.length === 0)
    fail('ERR_INVALID_ARGUMENT', `calibration must be a path to a calibration file, got ${describe(file)}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return fail('ERR_CALIBRATION', `cannot read calibration file ${file}: ${(e as Error).message}; create one with \`mobilenet quantize --weights W --calibrate <image dir> --out ${file}\``, e);
  }
  let c: Calibration;
  try {
    c = JSON.parse(text) as Calibration;
  } catch (e) {
    return fail('ERR_CALIBRATION', `calibration file ${file} is not valid JSON (truncated or corrupt, ${text.length} bytes): ${(e as Error).message}`, e);
  }
  const bad = (what: string): never => fail('ERR_CALIBRATION', `calibration file ${file}: ${what}`);
  if (!c || typeof c !== 'object' || c.format !== CALIBRATION_FORMAT)
    bad(`expected "format": "${CALIBRATION_FORMAT}", got ${describe((c as { format?: unknown } | null)?.format)}`);
  if (c.version !== CALIBRATION_VERSION) bad(`expected version ${CALIBRATION_VERSION}, got ${describe(c.version)}`);
  const m = c.model;
  if (!m || typeof m !== 'object' || typeof m.weightsSha256 !== 'string' || typeof m.alpha !== 'number' || typeof m.resolution !== 'number')
    bad('the "model" fingerprint (alpha, resolution, classes, …, weightsSha256) is missing or incomplete');
  if (!Array.isArray(c.layers) || c.layers.length === 0) bad(`expected a non-empty "layers" array, got ${describe(c.layers)}`);
  c.layers.forEach((l, i) => {
    if (!l || typeof l.name !== 'string' || typeof l.max !== 'number' || !Number.isFinite(l.max) || l.max <= 0 || l.max > 6 + 1e-6)
      bad(`layer ${i} must be { name, max } with 0 < max ≤ 6 (a ReLU6 output range), got ${JSON.stringify(l)}`);
  });
  return c;
}

/**
 * Checks that `c` was made for exactly these weights and configuration, and returns the per-layer
 * maxima in the engine's order.
 */
export function calibrationMaxima(c: Calibration, weights: ModelWeights, file = 'calibration'): Float32Array {
  const want = modelFingerprint(weights);
  for (const key of ['alpha', 'resolution', 'classes', 'channelRule', 'padding', 'variant', 'bnEpsilon'] as const) {
    if (c.model[key] !== want[key])
      fail('ERR_CALIBRATION', `calibration file ${file} is for another model: its ${key} is ${JSON.stringify(c.model[key])}, this model's is ${JSON.stringify(want[key])}`);
  }
  if (c.model.weightsSha256 !== want.weightsSha256)
    fail('ERR_CALIBRATION', `calibration file ${file} is for other weights: weightsSha256 ${c.model.weightsSha256.slice(0, 12)}…, these weights hash to ${want.weightsSha256.slice(0, 12)}…`);
  const names = convLayerNames(weights.arch);
  if (c.layers.length !== names.length)
    fail('ERR_CALIBRATION', `calibration file ${file} lists ${c.layers.length} layers, this model has ${names.length} conv layers`);
  c.layers.forEach((l, i) => {
    if (l.name !== names[i]) fail('ERR_CALIBRATION', `calibration file ${file}: layer ${i} is ${JSON.stringify(l.name)}, expected ${JSON.stringify(names[i])}`);
  });
  return Float32Array.from(c.layers, (l) => l.max);
}
