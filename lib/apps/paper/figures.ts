/**
 * Figures quoted from Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
 * Vision Applications", arXiv:1704.04861 (2017), each with the table it comes from. These are the
 * paper's printed numbers (ImageNet top-1 in %, mult-adds and parameters in millions) and are only
 * ever shown beside — or compared with — what this package computes or measures; nothing here is an
 * output of our own code.
 */

export const PAPER_REFERENCE = 'Howard et al., MobileNets, arXiv:1704.04861 (2017)';

/** Table 2: resource per layer type, 1.0 MobileNet-224 (shares in %). */
export const TABLE2 = [
  { type: 'Conv 1 × 1', layerType: 'pw', macsPct: 94.86, paramsPct: 74.59 },
  { type: 'Conv DW 3 × 3', layerType: 'dw', macsPct: 3.06, paramsPct: 1.06 },
  { type: 'Conv 3 × 3', layerType: 'conv', macsPct: 1.19, paramsPct: 0.02 },
  { type: 'Fully Connected', layerType: 'fc', macsPct: 0.18, paramsPct: 24.33 },
] as const;

/** Table 3: cumulative modifications of one internal layer, D_K = 3, M = N = 512, D_F = 14. */
export const TABLE3_LAYER = { Dk: 3, M: 512, N: 512, Df: 14 } as const;
export const TABLE3 = [
  { model: 'Convolution', macsM: 462, paramsM: 2.36 },
  { model: 'Depthwise Separable Conv', macsM: 52.3, paramsM: 0.27 },
  { model: 'α = 0.75', macsM: 29.6, paramsM: 0.15 },
  { model: 'ρ = 0.714', macsM: 15.1, paramsM: 0.15 },
] as const;

/** Table 4: depthwise separable vs full convolution MobileNet. */
export const TABLE4 = [
  { model: 'Conv MobileNet', variant: 'full-conv', top1: 71.7, macsM: 4866, paramsM: 29.3 },
  { model: 'MobileNet', variant: 'mobilenet', top1: 70.6, macsM: 569, paramsM: 4.2 },
] as const;

/** Table 5: narrow vs shallow MobileNet. */
export const TABLE5 = [
  { model: '0.75 MobileNet', alpha: 0.75, variant: 'mobilenet', top1: 68.4, macsM: 325, paramsM: 2.6 },
  { model: 'Shallow MobileNet', alpha: 1, variant: 'shallow', top1: 65.3, macsM: 307, paramsM: 2.9 },
] as const;

/** Table 6: MobileNet width multiplier (ρ = 224). */
export const TABLE6 = [
  { alpha: 1, top1: 70.6, macsM: 569, paramsM: 4.2 },
  { alpha: 0.75, top1: 68.4, macsM: 325, paramsM: 2.6 },
  { alpha: 0.5, top1: 63.7, macsM: 149, paramsM: 1.3 },
  { alpha: 0.25, top1: 50.6, macsM: 41, paramsM: 0.5 },
] as const;

/** Table 7: MobileNet resolution (α = 1). */
export const TABLE7 = [
  { resolution: 224, top1: 70.6, macsM: 569, paramsM: 4.2 },
  { resolution: 192, top1: 69.1, macsM: 418, paramsM: 4.2 },
  { resolution: 160, top1: 67.2, macsM: 290, paramsM: 4.2 },
  { resolution: 128, top1: 64.4, macsM: 186, paramsM: 4.2 },
] as const;

/** Table 8: MobileNet compared with popular models. Other networks: quoted, not reproduced. */
export const TABLE8 = [
  { model: '1.0 MobileNet-224', mobilenet: { alpha: 1, resolution: 224 }, top1: 70.6, macsM: 569, paramsM: 4.2 },
  { model: 'GoogleNet', top1: 69.8, macsM: 1550, paramsM: 6.8 },
  { model: 'VGG 16', top1: 71.5, macsM: 15300, paramsM: 138 },
] as const;

/** Table 9: smaller MobileNet compared with popular models. Other networks: quoted, not reproduced. */
export const TABLE9 = [
  { model: '0.50 MobileNet-160', mobilenet: { alpha: 0.5, resolution: 160 }, top1: 60.2, macsM: 76, paramsM: 1.32 },
  { model: 'Squeezenet', top1: 57.5, macsM: 1700, paramsM: 1.25 },
  { model: 'AlexNet', top1: 57.2, macsM: 720, paramsM: 60 },
] as const;

/**
 * Figure 4/5 plot the 16 models of the α × ρ grid but print no numbers. The numbers below are the
 * ImageNet top-1 of Google's released TF-slim checkpoints (tensorflow/models, research/slim/nets/
 * mobilenet_v1.md, 2018 release) — quoted from that table, not from the paper; mult-adds and parameters
 * of these points are computed by us from the spec.
 */
export const RELEASE_TOP1_SOURCE = 'TF-slim mobilenet_v1.md release table (2018 checkpoints)';
export const RELEASE_TOP1: ReadonlyArray<{ alpha: number; resolution: number; top1: number }> = [
  { alpha: 1, resolution: 224, top1: 70.9 }, { alpha: 1, resolution: 192, top1: 70.0 },
  { alpha: 1, resolution: 160, top1: 68.0 }, { alpha: 1, resolution: 128, top1: 65.2 },
  { alpha: 0.75, resolution: 224, top1: 68.4 }, { alpha: 0.75, resolution: 192, top1: 67.2 },
  { alpha: 0.75, resolution: 160, top1: 65.3 }, { alpha: 0.75, resolution: 128, top1: 62.1 },
  { alpha: 0.5, resolution: 224, top1: 63.3 }, { alpha: 0.5, resolution: 192, top1: 61.7 },
  { alpha: 0.5, resolution: 160, top1: 59.1 }, { alpha: 0.5, resolution: 128, top1: 56.3 },
  { alpha: 0.25, resolution: 224, top1: 49.8 }, { alpha: 0.25, resolution: 192, top1: 47.7 },
  { alpha: 0.25, resolution: 160, top1: 45.5 }, { alpha: 0.25, resolution: 128, top1: 41.5 },
];
