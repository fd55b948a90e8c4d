/** mobilenet-native: MobileNet v1 for Node.js on a oneDNN engine. The only import users need. */
import { MobileNet, type LoadOptions } from './core/model';

export { MobileNet, BUNDLED_WEIGHTS, summarize } from './core/model';
export type { LoadOptions, InferOptions, ClassifyOptions, EmbedOptions, OutputKind, SummaryRow, Precision, ProfileOptions, LayerProfile, ModelProfile } from './core/model';
export type { EngineOptions, WaitPolicy } from './core/engine-options';
export { MobileNetError } from './core/errors';
export type { ErrorCode } from './core/errors';
export { buildLayers, cost, featureWidth, DEFAULT_ARCH } from './core/spec';
export type { ArchSpec, ChannelRule, PaddingMode, Variant, LayerSpec, Cost } from './core/spec';
export type { ModelWeights } from './core/weights/types';
export { loadWeights, randomWeights } from './core/weights';
export type { ImageInput, Preprocess, RawPixels } from './core/image';
export type { ClassScore } from './core/labels';
export { labelsFor, imagenetLabels } from './core/labels';

/** Loads a model: the bundled α=0.25/224 weights by default, a weight file, or seeded random weights. */
export function load(options: LoadOptions = {}): Promise<MobileNet> {
  return MobileNet.load(options);
}
