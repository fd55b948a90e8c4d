/**
 * The core's public entry: everything `load()` needs lives in lib/core, and this is the only file of
 * it that lib/apps may import (test/architecture.test.ts checks): the package's public API
 * (public.ts, which lib/index.ts re-exports) and the toolkit the apps share.
 */
export * from './public';

// The apps' toolkit: one validation vocabulary, one table of limits, errors, the decode guard,
// official weights, calibration files and optional dependencies.
export * as validate from './validate';
export { describe, fail } from './errors';
export { flag, int } from './validate';
export { LIMITS } from './limits';
export { channels, type LayerType } from './spec';
export { topK } from './labels';
export { checkDecodeMode, type DecodeMode } from './image-stage';
export { DecodeGuard, readImageFile, Slots } from './image-guard';
export { makeCalibration, saveCalibration, weightsFingerprint } from './calibration';
export { missingOptional, requireOptional } from './optional';
export { setDecoderThreads } from './image';
export { officialWeights, officialWeightsPath } from './weights/official';
export { fetchModel, type FetchOptions, type FetchResult } from './weights/download';
export { DEFAULT_BASE_URL, findCachedModel, modelHome, officialModelName, officialModelUrl, OFFICIAL_ALPHAS, OFFICIAL_RESOLUTIONS, verifyCachedModel, type CompleteMarker } from './weights/cache';
