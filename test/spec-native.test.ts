/** lib/core/spec.ts and native/engine/spec.cc describe the same network for every configuration. */
import { expect } from 'chai';
import { native } from '../lib/core/native';
import { buildLayers, DEFAULT_ARCH, type ArchSpec, type ChannelRule, type PaddingMode, type Variant } from '../lib/core/spec';

describe('spec: TypeScript and native agree', () => {
  const alphas = [1, 0.75, 0.5, 0.35, 0.25, 0.1, 1 / 32, 0.6];
  const resolutions = [224, 192, 160, 128, 96, 33, 100, 225, 513];
  const rules: ChannelRule[] = ['keras', 'slim'];
  const paddings: PaddingMode[] = ['same', 'symmetric'];
  const variants: Variant[] = ['mobilenet', 'full-conv', 'shallow'];

  it(`every layer: name, type, kernel, stride, channels, sizes, padding, mult-adds, params (${alphas.length * resolutions.length * 12} configurations)`, () => {
    let checked = 0;
    for (const alpha of alphas) for (const resolution of resolutions) for (const channelRule of rules) for (const padding of paddings) for (const variant of variants) {
      const arch: ArchSpec = { ...DEFAULT_ARCH, alpha, resolution, channelRule, padding, variant, classes: 1001 };
      const ts = buildLayers(arch);
      const nat = native().specLayers(arch);
      const what = JSON.stringify(arch);
      expect(nat.length, what).to.equal(ts.length);
      ts.forEach((l, i) => {
        const n = nat[i];
        expect(
          [n.name, n.type, n.kernel, n.stride, n.inChannels, n.outChannels, n.inSize, n.outSize, n.padBefore, n.padAfter, n.macs, n.params],
          `${what} layer ${i}`,
        ).to.deep.equal([l.name, l.type, l.kernel, l.stride, l.inChannels, l.outChannels, l.inputShape[0], l.outputShape[0], l.pad[0], l.pad[2], l.macs, l.params]);
      });
      checked++;
    }
    expect(checked).to.equal(alphas.length * resolutions.length * 12);
  });

  it('the native spec rejects what lib/core/spec.ts rejects', () => {
    expect(() => native().specLayers({ ...DEFAULT_ARCH, alpha: 1.5 })).to.throw(/alpha/);
    expect(() => native().specLayers({ ...DEFAULT_ARCH, variant: 'deep' as 'mobilenet' })).to.throw();
  });
});
