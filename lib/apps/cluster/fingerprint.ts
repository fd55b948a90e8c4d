/**
 * The model fingerprint every chunk carries: what decides a worker's labels (the weights' bytes,
 * α, input resolution, classes, numeric precision, preprocessing, decode mode). A worker whose fingerprint
 * differs refuses the chunk instead of answering with other labels.
 */
import { createHash } from 'crypto';
import { weightsFingerprint, fail, officialWeights, type Preprocess, type DecodeMode, MobileNet, type Precision, featureWidth, loadWeights, type ModelWeights } from '../../core';

export interface ModelFingerprint {
  /** SHA-256 of the weight tensors as the engine sees them (calibration.ts's weightsFingerprint). */
  weightsSha256: string;
  alpha: number;
  resolution: number;
  classes: number;
  precision: Precision;
  preprocess: Preprocess;
  /** 'auto' shrinks large JPEGs while decoding, 'full' does not: the pixels, and so the labels, differ. */
  decode: DecodeMode;
}

/** The model options of `batch --queue` and `worker` (those of the local batch, plus --precision). */
export interface ClusterModelOptions {
  weights?: string;
  alpha?: number;
  resolution?: number;
  preprocess?: Preprocess;
  precision?: Precision;
  decode?: DecodeMode;
  threads?: number;
}

export function parsePrecision(v: string): Precision {
  if (v !== 'fp32' && v !== 'bf16' && v !== 'int8') fail('ERR_INVALID_ARGUMENT', `--precision expects 'fp32', 'bf16' or 'int8', got ${JSON.stringify(v)}`);
  return v;
}

/** Short id of a fingerprint (what jobs compare), from its fields in a fixed order. */
export function fingerprintId(f: ModelFingerprint): string {
  const canonical = JSON.stringify([f.weightsSha256, f.alpha, f.resolution, f.classes, f.precision, f.preprocess, f.decode]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function describeFingerprint(f: ModelFingerprint): string {
  return `α=${f.alpha} ${f.resolution}px ${f.classes} classes ${f.precision} ${f.preprocess} decode ${f.decode}, weights sha256 ${f.weightsSha256.slice(0, 12)}…`;
}

/** The weights the options choose, the way `mobilenet batch` chooses them (--weights, else the official/bundled release). */
async function chosenWeights(o: ClusterModelOptions): Promise<ModelWeights> {
  const file = o.weights ?? (await officialWeights(o.alpha ?? 0.25, o.resolution ?? 224));
  const weights = await loadWeights(file);
  if (o.alpha !== undefined && o.alpha !== weights.arch.alpha)
    fail('ERR_INVALID_ARGUMENT', `alpha ${o.alpha} does not match the weights (${weights.source}), which have alpha ${weights.arch.alpha}`);
  return weights;
}

function fingerprintOf(weights: ModelWeights, o: ClusterModelOptions): ModelFingerprint {
  return {
    weightsSha256: weightsFingerprint(weights),
    alpha: weights.arch.alpha,
    resolution: o.resolution ?? weights.arch.resolution,
    classes: weights.arch.classes,
    precision: o.precision ?? 'fp32',
    preprocess: o.preprocess ?? 'tfjs',
    decode: o.decode ?? 'auto',
  };
}

/** The producer's side: the fingerprint (and the output width) without building an engine. */
export async function producerFingerprint(o: ClusterModelOptions): Promise<{ fingerprint: ModelFingerprint; featureWidth: number }> {
  const weights = await chosenWeights(o);
  const fingerprint = fingerprintOf(weights, o);
  return { fingerprint, featureWidth: featureWidth(weights.arch) };
}

/** The worker's side: the model (through MobileNet.load, as the local batch does) and its fingerprint. */
export async function loadFingerprintedModel(o: ClusterModelOptions): Promise<{ model: MobileNet; fingerprint: ModelFingerprint }> {
  const weights = await chosenWeights(o);
  const fingerprint = fingerprintOf(weights, o);
  const model = await MobileNet.load({ weights, resolution: o.resolution, preprocess: o.preprocess, precision: o.precision, decode: o.decode, threads: o.threads });
  return { model, fingerprint: { ...fingerprint, resolution: model.arch.resolution, precision: model.precision } };
}
