/**
 * The paper's cost model (Section 3.1–3.3): mult-adds and parameters of a standard vs a depthwise
 * separable convolution, their ratio, and per-layer-type shares of a whole network (Table 2).
 */
import { int, buildLayers, channels, type ArchSpec, type LayerType } from '../../core';

function positiveInt(value: unknown, name: string): number {
  return int(value, name, 1);
}

/** Eq. (2): D_K·D_K·M·N·D_F·D_F mult-adds of a standard D_K×D_K convolution, M → N channels, D_F×D_F output. */
export function standardConvCost(Dk: number, M: number, N: number, Df: number): number {
  positiveInt(Dk, 'Dk'); positiveInt(M, 'M'); positiveInt(N, 'N'); positiveInt(Df, 'Df');
  return Dk * Dk * M * N * Df * Df;
}

/** Eq. (4): D_K·D_K·M·D_F·D_F (depthwise) + M·N·D_F·D_F (pointwise). */
export function depthwiseSeparableCost(Dk: number, M: number, N: number, Df: number): number {
  positiveInt(Dk, 'Dk'); positiveInt(M, 'M'); positiveInt(N, 'N'); positiveInt(Df, 'Df');
  return Dk * Dk * M * Df * Df + M * N * Df * Df;
}

export function standardConvParams(Dk: number, M: number, N: number): number {
  positiveInt(Dk, 'Dk'); positiveInt(M, 'M'); positiveInt(N, 'N');
  return Dk * Dk * M * N;
}

export function depthwiseSeparableParams(Dk: number, M: number, N: number): number {
  positiveInt(Dk, 'Dk'); positiveInt(M, 'M'); positiveInt(N, 'N');
  return Dk * Dk * M + M * N;
}

/** Eq. (5): separable / standard = 1/N + 1/D_K² (independent of M and D_F). */
export function separableCostRatio(Dk: number, N: number): number {
  positiveInt(Dk, 'Dk'); positiveInt(N, 'N');
  return 1 / N + 1 / (Dk * Dk);
}

export interface LayerTypeShare {
  type: LayerType;
  macs: number;
  /** Weights only: Table 2 counts the FC layer without its bias (with it, its share would be 24.35 %, not 24.33 %). */
  params: number;
  macsPct: number;
  paramsPct: number;
}

/** Table 2: share of mult-adds and parameters per layer type (first conv, depthwise, pointwise, FC). */
export function layerTypeShares(arch: ArchSpec): LayerTypeShare[] {
  const sums = new Map<LayerType, { macs: number; params: number }>();
  for (const l of buildLayers(arch)) {
    if (l.type === 'pool' || l.type === 'softmax') continue;
    const weights = l.type === 'fc' ? l.params - l.outChannels : l.params;
    const s = sums.get(l.type) ?? { macs: 0, params: 0 };
    s.macs += l.macs;
    s.params += weights;
    sums.set(l.type, s);
  }
  const totalMacs = [...sums.values()].reduce((a, s) => a + s.macs, 0);
  const totalParams = [...sums.values()].reduce((a, s) => a + s.params, 0);
  return [...sums.entries()].map(([type, s]) => ({
    type, macs: s.macs, params: s.params, macsPct: (100 * s.macs) / totalMacs, paramsPct: (100 * s.params) / totalParams,
  }));
}

export interface Table3Row {
  model: string;
  M: number;
  N: number;
  Df: number;
  macs: number;
  params: number;
}

/**
 * Table 3: one internal layer (D_K = 3, 512 → 512 channels, 14×14) under the paper's cumulative
 * modifications. α is applied with the same channel rule as the network; ρ = 160/224 ≈ 0.714 shrinks
 * the 14×14 map to 10×10, as it does inside a 160-pixel network.
 */
export function table3Rows(layer = { Dk: 3, M: 512, N: 512, Df: 14 }, alpha = 0.75, resolution = 160): Table3Row[] {
  const { Dk, M, N, Df } = layer;
  const Ma = channels(M, alpha, 'keras');
  const Na = channels(N, alpha, 'keras');
  const Dfr = Math.round((Df * resolution) / 224);
  return [
    { model: 'Convolution', M, N, Df, macs: standardConvCost(Dk, M, N, Df), params: standardConvParams(Dk, M, N) },
    { model: 'Depthwise Separable Conv', M, N, Df, macs: depthwiseSeparableCost(Dk, M, N, Df), params: depthwiseSeparableParams(Dk, M, N) },
    { model: `α = ${alpha}`, M: Ma, N: Na, Df, macs: depthwiseSeparableCost(Dk, Ma, Na, Df), params: depthwiseSeparableParams(Dk, Ma, Na) },
    { model: `ρ = ${(resolution / 224).toFixed(3)}`, M: Ma, N: Na, Df: Dfr, macs: depthwiseSeparableCost(Dk, Ma, Na, Dfr), params: depthwiseSeparableParams(Dk, Ma, Na) },
  ];
}
