/** model.profile(): one row per layer of the spec, with a real kernel name and consistent totals. */
import { expect } from 'chai';
import { load, type MobileNet } from '../lib';
import { buildLayers } from '../lib/core/spec';
import { profileMarkdown, isReference } from '../lib/apps/cli/commands/profile';

/** No conv layer among `layers` spent time in a layout reorder. */
function expectNoConvReorders(layers: Array<{ name: string; type: string; reorderMs: number }>): void {
  for (const l of layers.filter((l) => ['conv', 'dw', 'pw'].includes(l.type))) expect(l.reorderMs, l.name).to.equal(0);
}

describe('profile', function () {
  this.timeout(120000);
  let model: MobileNet;
  before(async () => {
    model = await load({ weights: 'random', alpha: 0.25, resolution: 96, classes: 20, seed: 2, threads: 2 });
  });
  after(() => model?.dispose());

  it('covers every layer in spec order, with non-negative times and oneDNN kernel names', async () => {
    const p = await model.profile({ batch: 2, runs: 3 });
    const spec = buildLayers(model.arch);
    expect(p.layers.map((l) => l.name)).to.deep.equal(spec.map((l) => l.name));
    expect(p.layers.map((l) => l.type)).to.deep.equal(spec.map((l) => l.type));
    expect(p.layers.map((l) => l.macs)).to.deep.equal(spec.map((l) => l.macs));
    for (const l of p.layers) {
      expect(l.ms, l.name).to.be.a('number').and.at.least(0);
      expect(l.reorderMs, l.name).to.be.at.least(0).and.at.most(l.ms);
      expect(l.kernel, l.name).to.be.a('string').and.not.equal('').and.not.equal('unknown');
    }
    expect(p.batch).to.equal(2);
    expect(p.runs).to.equal(3);
    expect(p.totalMs).to.be.closeTo(p.layers.reduce((s, l) => s + l.ms, 0), 1e-9);
    expect(p.macs).to.equal(model.cost().macs);
    expect(p.forwardMs).to.be.greaterThan(0);
    // Batches of one or two stay in NHWC, the caller's layout, through every conv: no reorder there.
    expectNoConvReorders(p.layers);
  });

  it('from batch 4 only the first conv may reorder (the input); a blocked layout makes it do so', async () => {
    // With `any` oneDNN picks the layout: blocked on AVX2 (one input reorder), nhwc on AVX-512 (none).
    const p = await model.profile({ batch: 4, runs: 2 });
    expectNoConvReorders(p.layers.slice(1));
    // nChw16c, forced: the first conv reads nchw, so the caller's NHWC rows are reordered once.
    const blocked = await load({ weights: 'random', alpha: 0.25, resolution: 96, classes: 20, seed: 2, threads: 2, engine: { layout: 'nChw16c' } });
    try {
      const q = await blocked.profile({ batch: 4, runs: 2 });
      expect(q.layers[0].reorderMs).to.be.greaterThan(0);
      expect(q.layers[0].reorderKernel).to.not.equal('');
      expectNoConvReorders(q.layers.slice(1));
    } finally {
      blocked.dispose();
    }
  });

  it('runs between inference calls without disturbing their results', async () => {
    const x = new Float32Array(96 * 96 * 3).fill(0.3);
    const alone = await model.infer(x, [1, 96, 96, 3]);
    const [a, , b] = await Promise.all([model.infer(x, [1, 96, 96, 3]), model.profile({ runs: 2 }), model.infer(x, [1, 96, 96, 3])]);
    expect(Array.from(a)).to.deep.equal(Array.from(alone));
    expect(Array.from(b)).to.deep.equal(Array.from(alone));
  });

  it('rejects bad options with ERR_INVALID_ARGUMENT and a disposed model with ERR_DISPOSED', async () => {
    for (const bad of [{ batch: 0 }, { batch: 1.5 }, { runs: 0 }, { runs: 'x' }]) {
      const err = await model.profile(bad as never).then(() => undefined, (e: { code?: string }) => e);
      expect(err?.code, JSON.stringify(bad)).to.equal('ERR_INVALID_ARGUMENT');
    }
    const m = await load({ weights: 'random', alpha: 0.25, resolution: 64, classes: 5, seed: 1 });
    m.dispose();
    const err = await m.profile().then(() => undefined, (e: { code?: string }) => e);
    expect(err?.code).to.equal('ERR_DISPOSED');
  });

  it('the table names each type group and flags reference kernels', async () => {
    const p = await model.profile({ runs: 1 });
    const md = profileMarkdown(p, 'test');
    for (const l of p.layers) expect(md).to.contain(`| ${l.name} |`);
    expect(md).to.contain('Conv 1×1 (pointwise)');
    expect(md).to.contain('Conv dw 3×3');
    expect(isReference('ref:any')).to.equal(true);
    expect(isReference('jit_1x1:avx2')).to.equal(false);
  });
});
