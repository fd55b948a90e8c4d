/** The package's public API: what `require('mobilenet-native')` gives (lib/index.ts re-exports this file). */
import { MobileNet, type LoadOptions } from './model';

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
