/** mobilenet-native: MobileNet v1 for Node.js on a oneDNN engine. The only import users need. */
export { load, MobileNet, BUNDLED_WEIGHTS, summarize } from './core';
export type { LoadOptions, InferOptions, ClassifyOptions, EmbedOptions, ModelPrepareOptions, OutputKind, SummaryRow, Precision, ProfileOptions, LayerProfile, ModelProfile } from './core';
export type { EngineOptions, WaitPolicy } from './core';
export { MobileNetError } from './core';
export type { ErrorCode } from './core';
export { buildLayers, cost, featureWidth, DEFAULT_ARCH } from './core';
export type { ArchSpec, ChannelRule, PaddingMode, Variant, LayerSpec, Cost } from './core';
export type { ModelWeights } from './core';
export { loadWeights, randomWeights } from './core';
export type { ImageInput, Preprocess, RawPixels } from './core';
export type { ClassScore } from './core';
export { labelsFor, imagenetLabels } from './core';
