import { expect } from 'chai';
import { randomWeights } from '../lib/core/weights/random';
import { expectedTensors } from '../lib/core/weights/types';
import { ArchSpec, DEFAULT_ARCH, buildLayers, weightedLayers } from '../lib/core/spec';
import { MobileNetError } from '../lib/core/errors';

const arch = (o: Partial<ArchSpec>): ArchSpec => ({ ...DEFAULT_ARCH, ...o });

function stats(a: Float32Array) {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const v of a) { s += v; s2 += v * v; min = Math.min(min, v); max = Math.max(max, v); }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), min, max };
}

/** A plain NHWC forward pass (BN unfolded, ReLU6), returning the post-ReLU activation stats of each layer. */
function forwardStats(spec: ArchSpec, t: Map<string, Float32Array>, input: Float32Array): number[] {
  let x = input;
  const rms: number[] = [];
  for (const l of buildLayers(spec)) {
    if (l.type !== 'conv' && l.type !== 'dw' && l.type !== 'pw') continue;
    const [h, w, cin] = l.inputShape;
    const [oh, ow, cout] = l.outputShape;
    const [pt, pl] = l.pad;
    const k = l.kernel;
    const kern = t.get(`${l.name}/${l.type === 'dw' ? 'depthwise_kernel' : 'kernel'}`)!;
    const y = new Float32Array(oh * ow * cout);
    for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
      const o = (oy * ow + ox) * cout;
      for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
        const iy = oy * l.stride + ky - pt, ix = ox * l.stride + kx - pl;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        const i = (iy * w + ix) * cin;
        if (l.type === 'dw') for (let c = 0; c < cin; c++) y[o + c] += x[i + c] * kern[(ky * k + kx) * cin + c];
        else for (let ci = 0; ci < cin; ci++) {
          const xv = x[i + ci], kb = ((ky * k + kx) * cin + ci) * cout;
          for (let co = 0; co < cout; co++) y[o + co] += xv * kern[kb + co];
        }
      }
    }
    const [g, b, m, v] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((p) => t.get(`${l.name}_bn/${p}`)!);
    let s2 = 0;
    for (let i = 0; i < y.length; i++) {
      const c = i % cout;
      const z = Math.min(6, Math.max(0, (g[c] * (y[i] - m[c])) / Math.sqrt(v[c] + spec.bnEpsilon) + b[c]));
      y[i] = z;
      s2 += z * z;
    }
    rms.push(Math.sqrt(s2 / y.length));
    x = y;
  }
  return rms;
}

describe('weights: randomWeights', () => {
  it('produces exactly the expected tensors for every variant and rule', () => {
    for (const a of [arch({}), arch({ alpha: 0.25, channelRule: 'slim', classes: 1001 }), arch({ variant: 'full-conv', alpha: 0.5 }), arch({ variant: 'shallow', resolution: 160 })]) {
      const w = randomWeights(a, 3);
      const expected = expectedTensors(weightedLayers(a));
      expect([...w.tensors.keys()]).to.deep.equal(expected.map((e) => e.name));
      for (const e of expected) expect(w.tensors.get(e.name)!.length).to.equal(e.shape.reduce((p, q) => p * q, 1), e.name);
      expect(w.format).to.equal('random');
      expect(w.arch).to.deep.equal(a);
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = arch({ alpha: 0.25 });
    const w1 = randomWeights(a, 42), w2 = randomWeights(a, 42), w3 = randomWeights(a, 43);
    for (const [name, t] of w1.tensors) expect(Buffer.from(t.buffer).equals(Buffer.from(w2.tensors.get(name)!.buffer)), name).to.equal(true);
    expect(Buffer.from(w1.tensors.get('conv_pw_5/kernel')!.buffer).equals(Buffer.from(w3.tensors.get('conv_pw_5/kernel')!.buffer))).to.equal(false);
  });

  it('has He-scaled kernels and non-trivial BN statistics', () => {
    const w = randomWeights(arch({}), 1);
    const pw = stats(w.tensors.get('conv_pw_13/kernel')!);
    expect(pw.std).to.be.closeTo(Math.sqrt(2 / 1024), 0.002);
    expect(Math.abs(pw.mean)).to.be.below(0.002);
    const dw = stats(w.tensors.get('conv_dw_5/depthwise_kernel')!);
    expect(dw.std).to.be.closeTo(Math.sqrt(2 / 9), 0.05);
    const g = stats(w.tensors.get('conv_pw_13_bn/gamma')!);
    expect(g.min).to.be.at.least(0.5); expect(g.max).to.be.at.most(1.5); expect(g.std).to.be.above(0.2);
    const v = stats(w.tensors.get('conv_pw_13_bn/moving_variance')!);
    expect(v.min).to.be.at.least(0.5); expect(v.max).to.be.at.most(2);
    const b = stats(w.tensors.get('conv_pw_13_bn/beta')!);
    expect(b.min).to.be.at.least(-0.2); expect(b.max).to.be.at.most(0.2); expect(b.std).to.be.above(0.05);
    const m = stats(w.tensors.get('conv_pw_13_bn/moving_mean')!);
    expect(m.std).to.be.within(0.05, 0.2);
    const bias = stats(w.tensors.get('conv_preds/bias')!);
    expect(bias.max).to.be.at.most(0.1); expect(bias.min).to.be.at.least(-0.1);
  });

  it('keeps activations O(1) through all 27 conv layers', function () {
    this.timeout(20000);
    const a = arch({ alpha: 0.25, resolution: 64 });
    const w = randomWeights(a, 7);
    const input = new Float32Array(64 * 64 * 3);
    let s = 12345;
    for (let i = 0; i < input.length; i++) { s = (s * 1103515245 + 12345) >>> 0; input[i] = (s / 2 ** 32) * 2 - 1; }
    const rms = forwardStats(a, w.tensors, input);
    expect(rms).to.have.length(27);
    for (const [i, r] of rms.entries()) expect(r, `layer ${i}`).to.be.within(0.1, 5);
  });

  it('rejects a bad seed or architecture', () => {
    expect(() => randomWeights(arch({}), -1)).to.throw(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
    expect(() => randomWeights(arch({}), 1.5)).to.throw(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
    expect(() => randomWeights(arch({ alpha: 2 }), 1)).to.throw(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
  });
});
