/**
 * lib/core/spec.ts against the numbers published in Howard et al. 2017 (arXiv:1704.04861) and against
 * TensorFlow's documented SAME-padding rule. The expected values are the paper's, typed from its
 * tables, never outputs of our own code.
 */
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { ArchSpec, DEFAULT_ARCH, buildLayers, cost } from '../lib/core/spec';

import { requireData, tfjsModel } from './helpers/data';

const arch = (o: Partial<ArchSpec> = {}): ArchSpec => ({ ...DEFAULT_ARCH, ...o });

/**
 * The paper prints millions with a fixed number of decimals and sometimes rounds (568.7 → 569),
 * sometimes truncates (290.7 → 290, 76.5 → 76). A figure matches if either reading gives the paper's.
 */
function expectPaperFigure(value: number, paper: number, decimals: number, what: string): void {
  const scale = 10 ** decimals;
  const m = value / 1e6;
  const rounded = Math.round(m * scale) / scale;
  const truncated = Math.floor(m * scale) / scale;
  expect([rounded, truncated], `${what}: ours ${m.toFixed(3)} M, paper ${paper} M`).to.include(paper);
}

describe('spec: the paper\'s published figures', () => {
  it('Table 1/2: 1.0 MobileNet-224 has 569 M mult-adds and 4.2 M parameters', () => {
    const c = cost(arch());
    expectPaperFigure(c.macs, 569, 0, 'mult-adds');
    expectPaperFigure(c.params, 4.2, 1, 'params');
    // Keras reports 4,253,864 parameters for MobileNet(alpha=1.0) including the BN statistics; the
    // DESIGN's 4.21 M is the count without BN.
    expectPaperFigure(c.params, 4.21, 2, 'params (two decimals)');
    expect(c.paramsWithBN).to.equal(4253864);
  });

  const table6: Array<[number, number, number]> = [[0.75, 325, 2.6], [0.5, 149, 1.3], [0.25, 41, 0.5]];
  for (const [alpha, macs, params] of table6) {
    it(`Table 6: ${alpha} MobileNet-224 has ${macs} M mult-adds and ${params} M parameters`, () => {
      const c = cost(arch({ alpha }));
      expectPaperFigure(c.macs, macs, 0, 'mult-adds');
      expectPaperFigure(c.params, params, 1, 'params');
    });
  }

  const table7: Array<[number, number]> = [[224, 569], [192, 418], [160, 290], [128, 186]];
  for (const [resolution, macs] of table7) {
    it(`Table 7: 1.0 MobileNet-${resolution} has ${macs} M mult-adds and 4.2 M parameters`, () => {
      const c = cost(arch({ resolution }));
      expectPaperFigure(c.macs, macs, 0, 'mult-adds');
      expectPaperFigure(c.params, 4.2, 1, 'params');
    });
  }

  it('Table 9: 0.50 MobileNet-160 has 76 M mult-adds and 1.32 M parameters', () => {
    const c = cost(arch({ alpha: 0.5, resolution: 160 }));
    expectPaperFigure(c.macs, 76, 0, 'mult-adds');
    expectPaperFigure(c.params, 1.32, 2, 'params');
  });

  it('Table 4: the fully convolutional MobileNet has 4866 M mult-adds and 29.3 M parameters', () => {
    const c = cost(arch({ variant: 'full-conv' }));
    // The paper's 4866 is our 4867.3 less the classifier's 1.024 M mult-adds: Table 4 evidently left the
    // FC layer out. Accept it within that classifier-sized gap (0.03 %).
    const fcMacs = 1024 * 1000;
    expect(Math.abs(c.macs - 4866e6), `mult-adds ${c.macs}`).to.be.at.most(fcMacs + 0.5e6);
    expectPaperFigure(c.macs - fcMacs, 4866, 0, 'mult-adds without the classifier');
    expectPaperFigure(c.params, 29.3, 1, 'params');
    // And Table 4's point: separable convolutions cost about 8–9 times less.
    const ratio = c.macs / cost(arch()).macs;
    expect(ratio).to.be.within(8, 9);
  });

  it('Table 5: the shallow MobileNet (five 14×14×512 blocks removed) has 307 M mult-adds and 2.9 M parameters', () => {
    const c = cost(arch({ variant: 'shallow' }));
    expectPaperFigure(c.macs, 307, 0, 'mult-adds');
    expectPaperFigure(c.params, 2.9, 1, 'params');
    const names = buildLayers(arch({ variant: 'shallow' })).map((l) => l.name);
    for (const n of [7, 8, 9, 10, 11]) expect(names).to.not.include(`conv_dw_${n}`);
    expect(names).to.include('conv_dw_6').and.to.include('conv_dw_12');
  });

  it('Section 3.3: width multiplier cuts cost roughly by α² and resolution multiplier by ρ²', () => {
    const full = cost(arch()).macs;
    for (const alpha of [0.75, 0.5, 0.25]) {
      // Not exactly α²: conv1's input (3 channels) and the classifier's output (1000) do not scale.
      expect(cost(arch({ alpha })).macs / full).to.be.closeTo(alpha * alpha, 0.03);
    }
    for (const resolution of [192, 160, 128]) {
      const rho = resolution / 224;
      expect(cost(arch({ resolution })).macs / full).to.be.closeTo(rho * rho, 0.01);
    }
  });

  it('paramsWithBN equals the parameter count of the real α=0.75 Keras model.json (2,601,976)', function () {
    const modelJson = tfjsModel('0.75');
    requireData(this, modelJson);
    const manifest = JSON.parse(fs.readFileSync(modelJson, 'utf8')).weightsManifest as Array<{ weights: Array<{ shape: number[] }> }>;
    const count = manifest.flatMap((g) => g.weights).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(count).to.equal(2601976); // the figure MANIFEST.md documents
    expect(cost(arch({ alpha: 0.75 })).paramsWithBN).to.equal(count);
  });
});

describe('spec: Table 1 layer shapes at 1.0 MobileNet-224', () => {
  // Table 1 of the paper, row by row: [type, stride, output height, output channels].
  const TABLE1: Array<[string, number, number, number]> = [
    ['conv', 2, 112, 32],
    ['dw', 1, 112, 32], ['pw', 1, 112, 64],
    ['dw', 2, 56, 64], ['pw', 1, 56, 128],
    ['dw', 1, 56, 128], ['pw', 1, 56, 128],
    ['dw', 2, 28, 128], ['pw', 1, 28, 256],
    ['dw', 1, 28, 256], ['pw', 1, 28, 256],
    ['dw', 2, 14, 256], ['pw', 1, 14, 512],
    ...Array.from({ length: 5 }, (): Array<[string, number, number, number]> => [['dw', 1, 14, 512], ['pw', 1, 14, 512]]).flat(),
    ['dw', 2, 7, 512], ['pw', 1, 7, 1024],
    // The paper prints this row as "Conv dw / s2" on a 7×7 input, but its own output stays 7×7 and the
    // released models all use stride 1 here.
    ['dw', 1, 7, 1024], ['pw', 1, 7, 1024],
    ['pool', 1, 1, 1024],
    ['fc', 1, 1, 1000],
    ['softmax', 1, 1, 1000],
  ];

  it('has the 28 layers of Table 1 with its strides, output sizes and channels', () => {
    const layers = buildLayers(arch());
    expect(layers.map((l) => [l.type, l.stride, l.outputShape[0], l.outputShape[2]])).to.deep.equal(TABLE1);
    // Inputs chain: each layer consumes what the previous one produced, starting at 224×224×3.
    expect(layers[0].inputShape).to.deep.equal([224, 224, 3]);
    for (let i = 1; i < layers.length; i++) expect(layers[i].inputShape, layers[i].name).to.deep.equal(layers[i - 1].outputShape);
    for (const l of layers) expect(l.outputShape[0], l.name).to.equal(l.outputShape[1]);
  });

  it('uses the Keras layer names', () => {
    const names = buildLayers(arch()).filter((l) => l.type !== 'pool' && l.type !== 'softmax').map((l) => l.name);
    const expected = ['conv1'];
    for (let n = 1; n <= 13; n++) expected.push(`conv_dw_${n}`, `conv_pw_${n}`);
    expected.push('conv_preds');
    expect(names).to.deep.equal(expected);
  });

  it('Table 2: 95 % of mult-adds and 75 % of parameters sit in the 1×1 convolutions', () => {
    const layers = buildLayers(arch());
    // Table 2 counts weights only: its shares add up to 100 % without the classifier's 1000 biases.
    const weightsOnly = (l: (typeof layers)[number]) => (l.type === 'fc' ? l.params - l.outChannels : l.params);
    const total = { macs: cost(arch()).macs, params: layers.reduce((s, l) => s + weightsOnly(l), 0) };
    const share = (type: string, key: 'macs' | 'params') =>
      layers.filter((l) => l.type === type).reduce((s, l) => s + (key === 'macs' ? l.macs : weightsOnly(l)), 0) / total[key];
    // Table 2: Conv 1×1 94.86 % / 74.59 %, Conv DW 3×3 3.06 % / 1.06 %, Conv 3×3 1.19 % / 0.02 %, FC 0.18 % / 24.33 %.
    expect(share('pw', 'macs') * 100).to.be.closeTo(94.86, 0.01);
    expect(share('pw', 'params') * 100).to.be.closeTo(74.59, 0.01);
    expect(share('dw', 'macs') * 100).to.be.closeTo(3.06, 0.01);
    expect(share('dw', 'params') * 100).to.be.closeTo(1.06, 0.01);
    // The paper's own mult-add column sums to 99.29 %: its 1.19 % for the first conv is a misprint. The
    // other three rows pin it to the remainder, 100 − 94.86 − 3.06 − 0.18 = 1.90 %.
    expect(share('conv', 'macs') * 100).to.be.closeTo(100 - 94.86 - 3.06 - 0.18, 0.01);
    expect(share('conv', 'params') * 100).to.be.closeTo(0.02, 0.01);
    expect(share('fc', 'macs') * 100).to.be.closeTo(0.18, 0.01);
    expect(share('fc', 'params') * 100).to.be.closeTo(24.33, 0.01);
  });
});

describe('spec: channel rules', () => {
  it('keras: int(α·d), so 0.75 MobileNet starts at 24 and ends at 768 channels', () => {
    const l = buildLayers(arch({ alpha: 0.75 }));
    expect(l[0].outChannels).to.equal(24);
    expect(l[l.length - 3].outChannels).to.equal(768);
  });

  it('slim: max(int(α·d), 8), so tiny widths clamp to 8 while keras keeps them', () => {
    const alpha = 0.125; // 32·α = 4, 64·α = 8, 128·α = 16
    const slim = buildLayers(arch({ alpha, channelRule: 'slim' }));
    const keras = buildLayers(arch({ alpha, channelRule: 'keras' }));
    expect(slim[0].outChannels).to.equal(8);
    expect(keras[0].outChannels).to.equal(4);
    expect(slim.find((l) => l.name === 'conv_pw_1')!.outChannels).to.equal(8);
    expect(slim.find((l) => l.name === 'conv_pw_2')!.outChannels).to.equal(16);
  });
});

describe('spec: padding and odd resolutions', () => {
  /** TF's documented SAME rule (tf.nn.convolution docs): out = ceil(in/s); pad = max((out−1)·s + k − in, 0), top = ⌊pad/2⌋. */
  const stride2 = (layers: ReturnType<typeof buildLayers>) => layers.filter((l) => l.kernel === 3 && l.stride === 2);

  // Hand-derived from the rule above: [input size, output size, pad before, pad after] for the five stride-2 3×3 layers.
  const cases: Array<[number, Array<[number, number, number, number]>]> = [
    [224, [[224, 112, 0, 1], [112, 56, 0, 1], [56, 28, 0, 1], [28, 14, 0, 1], [14, 7, 0, 1]]],
    [225, [[225, 113, 1, 1], [113, 57, 1, 1], [57, 29, 1, 1], [29, 15, 1, 1], [15, 8, 1, 1]]],
    [97, [[97, 49, 1, 1], [49, 25, 1, 1], [25, 13, 1, 1], [13, 7, 1, 1], [7, 4, 1, 1]]],
    [200, [[200, 100, 0, 1], [100, 50, 0, 1], [50, 25, 0, 1], [25, 13, 1, 1], [13, 7, 1, 1]]],
  ];
  for (const [resolution, expected] of cases) {
    it(`SAME at ${resolution}: stride-2 outputs are ceil(in/2), with TF's pad split`, () => {
      const got = stride2(buildLayers(arch({ resolution }))).map((l) => [l.inputShape[0], l.outputShape[0], l.pad[0], l.pad[2]]);
      expect(got).to.deep.equal(expected);
      for (const l of stride2(buildLayers(arch({ resolution })))) {
        expect(l.pad[0], `${l.name} top vs left`).to.equal(l.pad[1]);
        expect(l.pad[2], `${l.name} bottom vs right`).to.equal(l.pad[3]);
      }
    });
  }

  it('SAME stride-1 3×3 and 1×1 layers keep the size (pad 1/1 and 0/0)', () => {
    for (const l of buildLayers(arch({ resolution: 225 }))) {
      if ((l.type === 'dw' || l.type === 'conv') && l.stride === 1) {
        expect(l.pad, l.name).to.deep.equal([1, 1, 1, 1]);
        expect(l.outputShape[0], l.name).to.equal(l.inputShape[0]);
      }
      if (l.type === 'pw') expect(l.pad, l.name).to.deep.equal([0, 0, 0, 0]);
    }
  });

  it('symmetric padding pads 1 on every side; on even inputs the output size equals SAME\'s', () => {
    for (const resolution of [224, 225, 97]) {
      const sym = buildLayers(arch({ resolution, padding: 'symmetric' }));
      const same = buildLayers(arch({ resolution }));
      for (const l of sym.filter((x) => x.kernel === 3)) expect(l.pad, `${resolution} ${l.name}`).to.deep.equal([1, 1, 1, 1]);
      // floor((in + 2 − 3)/2) + 1 = ceil(in/2) for every in, so shapes agree and only the pad split differs.
      expect(sym.map((l) => l.outputShape)).to.deep.equal(same.map((l) => l.outputShape));
    }
  });

  it('odd resolution 225 ends in an 8×8 grid and 97 in a 4×4 grid before the pool', () => {
    const at = (resolution: number) => buildLayers(arch({ resolution })).find((l) => l.type === 'pool')!.inputShape;
    expect(at(225)).to.deep.equal([8, 8, 1024]);
    expect(at(97)).to.deep.equal([4, 4, 1024]);
  });
});
