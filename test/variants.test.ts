/** The full-convolution (Table 4) and shallow (Table 5) variants run on the engine: shapes, finiteness. */
import { expect } from 'chai';
import { load } from '../lib';
import { buildLayers, DEFAULT_ARCH, featureWidth, type Variant } from '../lib/core/spec';

function randomInput(n: number, r: number, seed: number): Float32Array {
  const x = new Float32Array(n * r * r * 3);
  let s = seed;
  for (let i = 0; i < x.length; i++) { s = (s * 1664525 + 1013904223) >>> 0; x[i] = s / 2147483648 - 1; }
  return x;
}

describe('variants: full-conv and shallow run on oneDNN', () => {
  const cases: Array<[Variant, number, number]> = [['full-conv', 0.25, 128], ['shallow', 0.5, 160], ['full-conv', 0.5, 96], ['shallow', 0.25, 224], ['mobilenet', 0.25, 128]];
  for (const [variant, alpha, resolution] of cases) {
    it(`${variant} α=${alpha}/${resolution}: probabilities, logits and embedding have the spec's shapes and are finite`, async () => {
      const m = await load({ weights: 'random', variant, alpha, resolution, seed: 3, classes: 10 });
      try {
        expect(m.arch.variant).to.equal(variant);
        const arch = { ...DEFAULT_ARCH, variant, alpha, resolution, classes: 10 };
        const names = buildLayers(arch).map((l) => l.name);
        if (variant === 'full-conv') expect(names.filter((n) => n.startsWith('conv_full_'))).to.have.length(13);
        if (variant === 'shallow') expect(names.filter((n) => n.startsWith('conv_dw_'))).to.have.length(8);
        const x = randomInput(3, resolution, 7);
        const p = await m.infer(x, [3, resolution, resolution, 3]);
        expect(p.length).to.equal(30);
        expect(p.every(Number.isFinite)).to.equal(true);
        for (let i = 0; i < 3; i++) expect(p.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-4);
        const logits = await m.infer(x, [3, resolution, resolution, 3], { output: 'logits' });
        expect(logits.every(Number.isFinite)).to.equal(true);
        // Random weights must not collapse the network to a constant: rows differ.
        expect(Array.from(logits.subarray(0, 10))).to.not.deep.equal(Array.from(logits.subarray(10, 20)));
        const e = await m.infer(x, [3, resolution, resolution, 3], { output: 'embedding' });
        expect(e.length).to.equal(3 * featureWidth(arch));
        expect(e.every((v) => Number.isFinite(v) && v >= 0 && v <= 6)).to.equal(true);
        // One image alone gives the same row as in the batch.
        const one = await m.infer(x.subarray(0, resolution * resolution * 3), [1, resolution, resolution, 3], { output: 'logits' });
        for (let j = 0; j < 10; j++) expect(one[j]).to.be.closeTo(logits[j], 1e-3 * (1 + Math.abs(logits[j])));
      } finally {
        m.dispose();
      }
    });
  }
});
