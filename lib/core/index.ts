/**
 * The core's public entry: everything `load()` needs lives in lib/core, and this is the only file of
 * it that lib/apps may import (test/architecture.test.ts checks). The first block is the package's
 * public API (lib/index.ts re-exports it); the second is the toolkit the apps share.
 */
import { MobileNet, type LoadOptions } from './model';

// The package's public API.
export { MobileNet, BUNDLED_WEIGHTS, summarize } from './model';
export type { LoadOptions, InferOptions, ClassifyOptions, EmbedOptions, ModelPrepareOptions, OutputKind, SummaryRow, Precision, ProfileOptions, LayerProfile, ModelProfile } from './model';
export type { EngineOptions, WaitPolicy } from './engine-options';
export { MobileNetError } from './errors';
export type { ErrorCode } from './errors';
export { buildLayers, cost, featureWidth, DEFAULT_ARCH } from './spec';
export type { ArchSpec, ChannelRule, PaddingMode, Variant, LayerSpec, Cost } from './spec';
export type { ModelWeights } from './weights/types';
export { loadWeights, randomWeights } from './weights';
export type { ImageInput, Preprocess, RawPixels } from './image';
export type { ClassScore } from './labels';
export { labelsFor, imagenetLabels } from './labels';

/** Loads a model: the bundled α=0.25/224 weights by default, a weight file, or seeded random weights. */
export function load(options: LoadOptions = {}): Promise<MobileNet> {
  return MobileNet.load(options);
}

// The apps' toolkit: one validation vocabulary, one table of limits, errors, the decode guard,
// official weights, calibration files and optional dependencies.
export * as validate from './validate';
export { describe, fail } from './errors';
export { flag, int } from './validate';
export { LIMITS } from './limits';
export { channels, type LayerType } from './spec';
export { topK } from './labels';
export { checkDecodeMode, type DecodeMode } from './image-stage';
export { DecodeGuard, readImageFile } from './image-guard';
export { makeCalibration, saveCalibration, weightsFingerprint } from './calibration';
export { loadSharp, missingOptional, requireOptional } from './optional';
export { officialWeights, officialWeightsPath } from './weights/official';
export { fetchModel, type FetchOptions, type FetchResult } from './weights/download';
export { DEFAULT_BASE_URL, findCachedModel, modelHome, officialModelName, officialModelUrl, OFFICIAL_ALPHAS, OFFICIAL_RESOLUTIONS, verifyCachedModel, type CompleteMarker } from './weights/cache';
