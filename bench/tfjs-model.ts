/**
 * The Keras MobileNet v1 in TF.js layers (conv → BN → ReLU6, as a TF.js user runs it), holding the
 * benchmark's weights by their Keras names. Only the default 'same' padding: the benchmark uses it.
 */
import type * as tfType from '@tensorflow/tfjs';
import { buildLayers } from '../lib/core/spec';
import type { ModelWeights } from '../lib/core/weights/types';

export function buildTfjsModel(tf: typeof tfType, w: ModelWeights): tfType.LayersModel {
  if (w.arch.padding !== 'same') throw new Error('bench TF.js model: only TF "same" padding');
  const R = w.arch.resolution;
  const input = tf.input({ shape: [R, R, 3] });
  let x: tfType.SymbolicTensor = input;
  const pending: Array<[tfType.layers.Layer, string[]]> = [];
  for (const l of buildLayers(w.arch)) {
    if (l.type === 'conv' || l.type === 'pw' || l.type === 'dw') {
      const layer = l.type === 'dw'
        ? tf.layers.depthwiseConv2d({ kernelSize: 3, strides: l.stride, padding: 'same', useBias: false, name: l.name })
        : tf.layers.conv2d({ filters: l.outChannels, kernelSize: l.kernel, strides: l.stride, padding: 'same', useBias: false, name: l.name });
      x = layer.apply(x) as tfType.SymbolicTensor;
      pending.push([layer, [`${l.name}/${l.type === 'dw' ? 'depthwise_kernel' : 'kernel'}`]]);
      const bn = tf.layers.batchNormalization({ axis: -1, epsilon: w.arch.bnEpsilon, name: `${l.name}_bn` });
      x = bn.apply(x) as tfType.SymbolicTensor;
      pending.push([bn, ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((p) => `${l.name}_bn/${p}`)]);
      x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tfType.SymbolicTensor;
    } else if (l.type === 'pool') {
      x = tf.layers.globalAveragePooling2d({}).apply(x) as tfType.SymbolicTensor;
    } else if (l.type === 'fc') {
      const dense = tf.layers.dense({ units: l.outChannels, useBias: true, name: l.name });
      x = dense.apply(x) as tfType.SymbolicTensor;
      pending.push([dense, [`${l.name}/kernel`, `${l.name}/bias`]]);
    } else if (l.type === 'softmax') {
      x = tf.layers.softmax({}).apply(x) as tfType.SymbolicTensor;
    }
  }
  const model = tf.model({ inputs: input, outputs: x });
  for (const [layer, names] of pending) {
    const shapes = layer.getWeights().map((t) => t.shape);
    const values = names.map((n, i) => tf.tensor(w.tensors.get(n) as Float32Array, shapes[i], 'float32'));
    layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}
