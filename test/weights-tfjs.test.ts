import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { loadTfjsLayers } from '../lib/core/weights/tfjs';
import { expectedTensors } from '../lib/core/weights/types';
import { weightedLayers } from '../lib/core/spec';
import { requireData } from './helpers/data';
import { TFJS_025, TFJS_075, copyModelDir, readJson, removeDir, writeJson } from './helpers/weights-fixtures';
import { rejection } from './helpers/errors';

describe('weights: TF.js layers loader', function () {
  this.timeout(20000);

  for (const [dir, alpha, params] of [[TFJS_025, 0.25, 475544], [TFJS_075, 0.75, 2601976]] as const) {
    it(`loads the real α=${alpha} model with the architecture its topology describes`, async function () {
      requireData(this, dir);
      const w = await loadTfjsLayers(path.join(dir, 'model.json'));
      expect(w.arch).to.deep.equal({ alpha, resolution: 224, classes: 1000, channelRule: 'keras', padding: 'same', bnEpsilon: 0.001, variant: 'mobilenet' });
      expect(w.format).to.equal('tfjs-layers');
      expect(w.tensors.size).to.equal(137);
      expect([...w.tensors.keys()]).to.deep.equal(expectedTensors(weightedLayers(w.arch)).map((t) => t.name));
      const total = [...w.tensors.values()].reduce((a, t) => a + t.length, 0);
      expect(total).to.equal(params); // the MANIFEST's sum over the weightsManifest shapes
      // The first value of the first shard, read independently.
      const manifest = readJson(path.join(dir, 'model.json')).weightsManifest;
      const shard = fs.readFileSync(path.join(dir, manifest[0].paths[0]));
      expect(w.tensors.get('conv1/kernel')![0]).to.equal(shard.readFloatLE(0));
      const last = manifest[manifest.length - 1];
      const lastShard = fs.readFileSync(path.join(dir, last.paths[0]));
      const lastName = last.weights[last.weights.length - 1].name;
      const t = w.tensors.get(lastName)!;
      expect(t[t.length - 1]).to.equal(lastShard.readFloatLE(lastShard.length - 4));
    });
  }

  describe('rejects broken copies with ERR_WEIGHTS naming the problem', () => {
    let dir: string;
    beforeEach(() => { dir = copyModelDir(TFJS_025); });
    afterEach(() => removeDir(dir));
    const modelJson = () => path.join(dir, 'model.json');
    const shardOf = (name: string) => {
      const g = readJson(modelJson()).weightsManifest.find((x: any) => x.weights.some((w: any) => w.name === name));
      return path.join(dir, g.paths[0]);
    };

    it('a missing model.json', async () => {
      const e = await rejection(loadTfjsLayers(path.join(dir, 'nope.json')));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('nope.json');
    });

    it('a model.json that is not JSON', async () => {
      fs.writeFileSync(modelJson(), '{"modelTopology": ');
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('model.json').and.contain('JSON');
    });

    it('a truncated shard', async () => {
      const shard = shardOf('conv_pw_13/kernel');
      const bytes = fs.readFileSync(shard);
      fs.writeFileSync(shard, bytes.subarray(0, bytes.length - 10));
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain(path.basename(shard)).and.contain('conv_pw_13/kernel');
    });

    it('a shard of the wrong size (too long)', async () => {
      const shard = shardOf('conv_dw_3/depthwise_kernel');
      fs.appendFileSync(shard, Buffer.alloc(4));
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain(path.basename(shard)).and.contain('conv_dw_3/depthwise_kernel');
    });

    it('a missing shard', async () => {
      const shard = shardOf('conv_preds/bias');
      fs.unlinkSync(shard);
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain(path.basename(shard));
    });

    it('a tensor missing from the manifest', async () => {
      const j = readJson(modelJson());
      const g = j.weightsManifest.find((x: any) => x.weights.some((w: any) => w.name === 'conv_pw_7_bn/moving_variance'));
      const i = g.weights.findIndex((w: any) => w.name === 'conv_pw_7_bn/moving_variance');
      g.weights.splice(i, 1);
      const shard = path.join(dir, g.paths[0]);
      const bytes = fs.readFileSync(shard);
      fs.writeFileSync(shard, bytes.subarray(0, bytes.length - bytes.length / 4)); // keep the group size consistent
      writeJson(modelJson(), j);
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('conv_pw_7_bn/moving_variance').and.contain('missing');
    });

    it('a tensor whose manifest shape disagrees with the topology', async () => {
      const j = readJson(modelJson());
      const w = j.weightsManifest.flatMap((g: any) => g.weights).find((x: any) => x.name === 'conv1/kernel');
      w.shape = [3, 3, 8, 3]; // same byte count, wrong layout
      writeJson(modelJson(), j);
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('conv1/kernel').and.contain('[3, 3, 8, 3]');
    });

    it('a non-float32 dtype', async () => {
      const j = readJson(modelJson());
      j.weightsManifest[0].weights[0].dtype = 'int32';
      writeJson(modelJson(), j);
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('conv1/kernel').and.contain('int32');
    });

    it('a model.json of a different network', async () => {
      const j = readJson(modelJson());
      j.modelTopology.model_config.config.layers = j.modelTopology.model_config.config.layers.filter((l: any) => !l.name.startsWith('conv_dw_9'));
      writeJson(modelJson(), j);
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('conv_dw_9');
      writeJson(modelJson(), { modelTopology: { model_config: { class_name: 'Sequential', config: [{ class_name: 'Dense', config: { name: 'dense', units: 10, batch_input_shape: [null, 4] } }] } }, weightsManifest: [] });
      const e2 = await rejection(loadTfjsLayers(modelJson()));
      expect(e2.code).to.equal('ERR_WEIGHTS');
    });

    it('channel counts that no width multiplier explains', async () => {
      const j = readJson(modelJson());
      const l = j.modelTopology.model_config.config.layers.find((x: any) => x.name === 'conv_pw_5');
      l.config.filters = 65;
      writeJson(modelJson(), j);
      const e = await rejection(loadTfjsLayers(modelJson()));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('conv_pw_5=65');
    });
  });

  describe('accepts equivalent topologies and manifests', () => {
    let dir: string;
    beforeEach(() => { dir = copyModelDir(TFJS_025); });
    afterEach(() => removeDir(dir));
    const modelJson = () => path.join(dir, 'model.json');

    it('Keras 2.2+ explicit ZeroPadding2D before valid stride-2 convs, prefixed :0 weight names', async () => {
      const ref = await loadTfjsLayers(modelJson());
      const j = readJson(modelJson());
      const layers: any[] = j.modelTopology.model_config.config.layers;
      const out: any[] = [];
      for (const l of layers) {
        if ((l.class_name === 'Conv2D' || l.class_name === 'DepthwiseConv2D') && l.config.strides[0] === 2) {
          const padName = `${l.name}_pad`;
          out.push({ class_name: 'ZeroPadding2D', name: padName, config: { name: padName, padding: [[0, 1], [0, 1]] }, inbound_nodes: l.inbound_nodes });
          l.config.padding = 'valid';
          l.inbound_nodes = [[[padName, 0, 0, {}]]];
        }
        if (l.class_name === 'Activation' && l.config.activation === 'relu6') {
          l.class_name = 'ReLU';
          l.config = { name: l.name, max_value: 6 };
        }
        out.push(l);
      }
      j.modelTopology.model_config.config.layers = out;
      for (const g of j.weightsManifest) for (const w of g.weights) w.name = `mobilenet_0.25_224/${w.name}:0`;
      writeJson(modelJson(), j);
      const w = await loadTfjsLayers(modelJson());
      expect(w.arch).to.deep.equal(ref.arch);
      for (const [name, t] of ref.tensors) expect(w.tensors.get(name)).to.deep.equal(t);
      // ((1,1),(1,1)) means PyTorch-style symmetric padding.
      for (const l of out) if (l.class_name === 'ZeroPadding2D') l.config.padding = [[1, 1], [1, 1]];
      writeJson(modelJson(), j);
      expect((await loadTfjsLayers(modelJson())).arch.padding).to.equal('symmetric');
    });

    it('uint8-quantized weights are dequantized as q·scale + min', async () => {
      const j = readJson(modelJson());
      const g = j.weightsManifest[0]; // conv1/kernel alone: 3·3·3·8 = 216 values
      const codes = Buffer.alloc(216);
      for (let i = 0; i < 216; i++) codes[i] = (i * 7) % 256;
      fs.writeFileSync(path.join(dir, g.paths[0]), codes);
      g.weights[0].quantization = { dtype: 'uint8', scale: 0.01, min: -1 };
      writeJson(modelJson(), j);
      const w = await loadTfjsLayers(modelJson());
      const k = w.tensors.get('conv1/kernel')!;
      expect(k[5]).to.be.closeTo(35 * 0.01 - 1, 1e-6);
      expect(k[215]).to.be.closeTo(((215 * 7) % 256) * 0.01 - 1, 1e-6);
    });
  });
});
