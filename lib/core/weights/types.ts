/**
 * The one neutral description every weight loader produces (TF.js layers, TF-slim frozen graph,
 * safetensors, seeded random). The native engine never parses files: it receives this.
 *
 * Tensor names are the Keras layer names of lib/core/spec.ts `LayerSpec.name`, layouts are TensorFlow's:
 *   `${conv}/kernel`            conv1, conv_pw_N, conv_full_N: HWIO  [k, k, cin, cout]
 *   `${dw}/depthwise_kernel`    conv_dw_N:                      HWIM  [3, 3, c, 1]
 *   `${layer}_bn/gamma|beta|moving_mean|moving_variance`  one per conv layer, length cout
 *   `conv_preds/kernel`         [1, 1, cin, classes]   `conv_preds/bias`  [classes]
 * Every conv layer has a BN; the engine folds it (with arch.bnEpsilon) at load time.
 */
import type { ArchSpec } from '../spec';

export interface ModelWeights {
  arch: ArchSpec;
  tensors: Map<string, Float32Array>;
  /** Where the weights came from, for messages and `model.info`: a path, 'random(seed=1)', 'bundled'. */
  source: string;
  /** Format name: 'tfjs-layers' | 'tf-slim-frozen' | 'safetensors' | 'random'. */
  format: string;
}

export const BN_PARTS = ['gamma', 'beta', 'moving_mean', 'moving_variance'] as const;

/** The tensors (name, shape) a configuration needs, in the order the native engine takes them. */
export function expectedTensors(layers: ReadonlyArray<{ name: string; type: string; kernel: number; inChannels: number; outChannels: number }>): Array<{ name: string; shape: number[] }> {
  const out: Array<{ name: string; shape: number[] }> = [];
  for (const l of layers) {
    if (l.type === 'dw') out.push({ name: `${l.name}/depthwise_kernel`, shape: [l.kernel, l.kernel, l.inChannels, 1] });
    else if (l.type === 'conv' || l.type === 'pw') out.push({ name: `${l.name}/kernel`, shape: [l.kernel, l.kernel, l.inChannels, l.outChannels] });
    else if (l.type === 'fc') {
      out.push({ name: `${l.name}/kernel`, shape: [1, 1, l.inChannels, l.outChannels] });
      out.push({ name: `${l.name}/bias`, shape: [l.outChannels] });
      continue;
    } else continue;
    for (const part of BN_PARTS) out.push({ name: `${l.name}_bn/${part}`, shape: [l.outChannels] });
  }
  return out;
}
