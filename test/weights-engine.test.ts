/** The loaders feed the engine: the same weights reached through different formats give the same logits. */
import { expect } from 'chai';
import * as path from 'path';
import { load } from '../lib';
import { loadTfjsLayers } from '../lib/core/weights/tfjs';
import { expectedTensors } from '../lib/core/weights/types';
import { weightedLayers } from '../lib/core/spec';
import { requireData } from './helpers/data';
import { TFJS_025, slimGraph, tempDir, removeDir, writeSafetensors } from './helpers/weights-fixtures';

function input(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 99;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = s / 2 ** 31 - 1; }
  return x;
}

describe('weights: formats agree through the engine', function () {
  this.timeout(60000);
  const x = input(224 * 224 * 3);

  it('TF.js α=0.25/224 and the TF-slim α=0.25/224 graph give identical logits (slim class k+1)', async function () {
    requireData(this, slimGraph(224));
    const k = await load({ weights: path.join(TFJS_025, 'model.json') });
    const s = await load({ weights: slimGraph(224) });
    try {
      const a = await k.infer(x, [1, 224, 224, 3], { output: 'logits' });
      const b = await s.infer(x, [1, 224, 224, 3], { output: 'logits' });
      expect(a.length).to.equal(1000);
      expect(b.length).to.equal(1001);
      let maxDiff = 0;
      for (let i = 0; i < 1000; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i + 1]));
      expect(maxDiff).to.be.below(1e-4);
    } finally { k.dispose(); s.dispose(); }
  });

  it('the TF.js model re-saved as safetensors (PyTorch layout, padding same, ε 1e-3) gives the same logits', async () => {
    const w = await loadTfjsLayers(path.join(TFJS_025, 'model.json'));
    const dir = tempDir();
    try {
      const bn: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
      const tensors = expectedTensors(weightedLayers(w.arch)).map(({ name, shape }) => {
        const t = w.tensors.get(name)!;
        const [layer, part] = name.split('/');
        if (shape.length !== 4) return { name: layer === 'conv_preds' ? 'fc.bias' : `${layer}.${bn[part]}`, shape, data: t };
        const [kh, kw, ci, co] = part === 'depthwise_kernel' ? [shape[0], shape[1], 1, shape[2]] : shape;
        const d = new Float32Array(t.length);
        for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) for (let y = 0; y < kh; y++) for (let z = 0; z < kw; z++)
          d[((o * ci + i) * kh + y) * kw + z] = t[((y * kw + z) * ci + i) * co + o];
        return { name: layer === 'conv_preds' ? 'fc.weight' : `${layer}.weight`, shape: layer === 'conv_preds' ? [co, ci] : [co, ci, kh, kw], data: d };
      });
      const f = path.join(dir, 'm.safetensors');
      writeSafetensors(f, tensors, { padding: 'same', bn_eps: '0.001' });
      const a = await load({ weights: path.join(TFJS_025, 'model.json') });
      const b = await load({ weights: f });
      try {
        expect(b.arch).to.deep.equal(a.arch);
        const la = await a.infer(x, [1, 224, 224, 3], { output: 'logits' });
        const lb = await b.infer(x, [1, 224, 224, 3], { output: 'logits' });
        expect(Buffer.from(lb.buffer, lb.byteOffset, lb.byteLength).equals(Buffer.from(la.buffer, la.byteOffset, la.byteLength))).to.equal(true);
      } finally { a.dispose(); b.dispose(); }
    } finally { removeDir(dir); }
  });
});
