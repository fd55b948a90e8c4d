import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { loadTfSlimFrozen } from '../lib/core/weights/tfslim';
import { loadTfjsLayers } from '../lib/core/weights/tfjs';
import { graphDefType } from '../lib/core/weights/proto/graph';
import { requireData } from './helpers/data';
import { TFJS_025, slimGraph, tempDir, removeDir } from './helpers/weights-fixtures';
import { rejection } from './helpers/errors';

describe('weights: TF-slim frozen graph loader', function () {
  this.timeout(20000);
  before(function () {
    requireData(this, ...[128, 160, 192, 224].map(slimGraph));
  });

  for (const r of [128, 160, 192, 224]) {
    it(`loads the α=0.25/${r} graph with its resolution, 1001 classes and slim rules`, async () => {
      const w = await loadTfSlimFrozen(slimGraph(r));
      expect(w.arch).to.deep.equal({ alpha: 0.25, resolution: r, classes: 1001, channelRule: 'slim', padding: 'same', bnEpsilon: 0.001, variant: 'mobilenet' });
      expect(w.format).to.equal('tf-slim-frozen');
      expect(w.tensors.size).to.equal(137);
      expect([...w.tensors.values()].reduce((a, t) => a + t.length, 0)).to.equal(475801); // MANIFEST: 475,544 + 257
    });
  }

  it('holds tensors bit-identical to the α=0.25/224 TF.js model (slim class k+1 = Keras class k)', async () => {
    const slim = await loadTfSlimFrozen(slimGraph(224));
    const keras = await loadTfjsLayers(path.join(TFJS_025, 'model.json'));
    let compared = 0;
    for (const [name, k] of keras.tensors) {
      const s = slim.tensors.get(name)!;
      if (name === 'conv_preds/kernel') {
        // [1,1,256,1001] → drop output channel 0 (background)
        for (let i = 0; i < 256; i++) for (let c = 0; c < 1000; c++) {
          if (!Object.is(s[i * 1001 + c + 1], k[i * 1000 + c])) throw new Error(`conv_preds/kernel differs at ${i},${c}`);
        }
      } else if (name === 'conv_preds/bias') {
        expect(Buffer.from(s.buffer, 4, 4000).equals(Buffer.from(k.buffer))).to.equal(true);
      } else {
        expect(Buffer.from(s.buffer).equals(Buffer.from(k.buffer)), name).to.equal(true);
      }
      compared += k.length;
    }
    expect(compared).to.equal(475544);
  });

  describe('rejects broken graphs with ERR_WEIGHTS', () => {
    let dir: string;
    beforeEach(() => { dir = tempDir(); });
    afterEach(() => removeDir(dir));
    const type = graphDefType();
    const original = () => type.toObject(type.decode(fs.readFileSync(slimGraph(224)))) as any;
    const write = (g: unknown) => {
      const f = path.join(dir, 'frozen_graph.pb');
      fs.writeFileSync(f, type.encode(type.fromObject(g as object)).finish());
      return f;
    };

    it('a missing file', async () => {
      const e = await rejection(loadTfSlimFrozen(path.join(dir, 'none.pb')));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('none.pb');
    });

    it('a truncated file', async () => {
      const f = path.join(dir, 'frozen_graph.pb');
      fs.writeFileSync(f, fs.readFileSync(slimGraph(224)).subarray(0, 500000));
      const e = await rejection(loadTfSlimFrozen(f));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('frozen_graph.pb');
    });

    it('bytes that are not a GraphDef', async () => {
      const f = path.join(dir, 'frozen_graph.pb');
      fs.writeFileSync(f, Buffer.from('this is not a protobuf at all, just some text\n'.repeat(10)));
      const e = await rejection(loadTfSlimFrozen(f));
      expect(e.code).to.equal('ERR_WEIGHTS');
    });

    it('a missing tensor', async () => {
      const g = original();
      g.node = g.node.filter((n: any) => n.name !== 'MobilenetV1/Conv2d_5_pointwise/BatchNorm/moving_mean');
      const e = await rejection(loadTfSlimFrozen(write(g)));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('conv_pw_5_bn/moving_mean').and.contain('missing');
    });

    it('a tensor whose content is short for its shape', async () => {
      const g = original();
      const n = g.node.find((x: any) => x.name === 'MobilenetV1/Conv2d_3_depthwise/depthwise_weights');
      n.attr.value.tensor.tensor_content = n.attr.value.tensor.tensor_content.subarray(4);
      const e = await rejection(loadTfSlimFrozen(write(g)));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('Conv2d_3_depthwise/depthwise_weights');
    });

    it('a convolution with VALID padding (another network)', async () => {
      const g = original();
      const n = g.node.find((x: any) => x.name === 'MobilenetV1/MobilenetV1/Conv2d_4_depthwise/depthwise');
      n.attr.padding.s = Buffer.from('VALID');
      const e = await rejection(loadTfSlimFrozen(write(g)));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('Conv2d_4_depthwise').and.contain('VALID');
    });

    it('a graph without MobilenetV1 variables', async () => {
      const g = original();
      for (const n of g.node) n.name = n.name.replace(/^MobilenetV1\//, 'InceptionV3/');
      const e = await rejection(loadTfSlimFrozen(write(g)));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('MobilenetV1/Conv2d_0/weights');
    });
  });
});
