/**
 * The ONNX export runs in onnxruntime-node and gives the engine's outputs: random weights in several
 * configurations (TF "SAME" and symmetric padding, both channel rules) and the bundled real TF.js model.
 */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { load, loadWeights, randomWeights, BUNDLED_WEIGHTS, MobileNetError, type ArchSpec, type ModelWeights } from '../lib';
import { exportOnnx, ONNX_INPUT } from '../lib/apps/export/onnx';
import { uniformImages as inputs } from './helpers/random';

const base: ArchSpec = { alpha: 1, resolution: 224, classes: 1000, channelRule: 'keras', padding: 'same', bnEpsilon: 1e-3, variant: 'mobilenet' };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function compareWithOrt(w: ModelWeights, n: number): Promise<void> {
  const R = w.arch.resolution;
  const session = await ort.InferenceSession.create(exportOnnx(w), { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const model = await load({ weights: w, threads: 2 });
  try {
    const x = inputs(n, R, 7);
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [n, R, R, 3]) });
    const probs = await model.infer(x, [n, R, R, 3]);
    const logits = await model.infer(x, [n, R, R, 3], { output: 'logits' });
    const embedding = await model.infer(x, [n, R, R, 3], { output: 'embedding' });
    expect(out.probabilities.dims).to.deep.equal([n, w.arch.classes]);
    expect(maxAbsDiff(probs, out.probabilities.data as Float32Array), 'probabilities').to.be.at.most(1e-5);
    const ortLogits = out.logits.data as Float32Array;
    expect(maxAbsDiff(logits, ortLogits), 'logits').to.be.at.most(1e-4 * Math.max(1, maxAbs(ortLogits)));
    const ortEmb = out.embedding.data as Float32Array;
    expect(maxAbsDiff(embedding, ortEmb), 'embedding').to.be.at.most(1e-4 * Math.max(1, maxAbs(ortEmb)));
    // The outputs must carry information, or the comparison above would prove nothing.
    expect(maxAbs(ortLogits)).to.be.greaterThan(0.1);
  } finally {
    model.dispose();
    await session.release();
  }
}

describe('ONNX export', function () {
  this.timeout(120000);

  it('random weights, α=0.5/160, TF SAME padding: onnxruntime agrees with the engine', async () => {
    await compareWithOrt(randomWeights({ ...base, alpha: 0.5, resolution: 160 }, 11), 3);
  });

  it('random weights, α=0.25/131 (odd size), symmetric padding, slim channels, 10 classes', async () => {
    await compareWithOrt(randomWeights({ ...base, alpha: 0.25, resolution: 131, padding: 'symmetric', channelRule: 'slim', classes: 10 }, 5), 2);
  });

  it('random weights, α=1/224, batch 1', async () => {
    await compareWithOrt(randomWeights(base, 1), 1);
  });

  it('the bundled real TF.js model (α=0.25/224)', async () => {
    await compareWithOrt(await loadWeights(BUNDLED_WEIGHTS), 4);
  });

  it('shallow and full-conv variants', async () => {
    await compareWithOrt(randomWeights({ ...base, alpha: 0.25, resolution: 96, variant: 'shallow' }, 2), 2);
    await compareWithOrt(randomWeights({ ...base, alpha: 0.25, resolution: 96, variant: 'full-conv' }, 2), 2);
  });

  it('a fixed batch dimension is written into the graph', async () => {
    const w = randomWeights({ ...base, alpha: 0.25, resolution: 64, classes: 5 }, 1);
    const session = await ort.InferenceSession.create(exportOnnx(w, { batch: 2 }));
    const ok = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', inputs(2, 64, 1), [2, 64, 64, 3]) });
    expect(ok.probabilities.dims).to.deep.equal([2, 5]);
    let threw = false;
    try {
      await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', inputs(3, 64, 1), [3, 64, 64, 3]) });
    } catch {
      threw = true;
    }
    expect(threw, 'batch 3 on a batch-2 graph').to.equal(true);
    await session.release();
  });

  it('rejects incomplete weights and bad options with MobileNetError', () => {
    const w = randomWeights({ ...base, alpha: 0.25, resolution: 64 }, 1);
    const missing: ModelWeights = { ...w, tensors: new Map(w.tensors) };
    missing.tensors.delete('conv_pw_3/kernel');
    expect(() => exportOnnx(missing)).to.throw(MobileNetError, /conv_pw_3\/kernel/).with.property('code', 'ERR_WEIGHTS');
    expect(() => exportOnnx(w, { batch: 0 })).to.throw(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
  });
});
