/**
 * The main job: real photos in, ImageNet labels out, with real pretrained weights — and the same
 * answers as TF.js running the same model.json on the same decoded pixels.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { load, MobileNet } from '../lib';
import { decodePixels, prepareImage } from '../lib/core/image';
import { loadTfjsModelFromDir } from './helpers/reference';
import { SAMPLE_DIR, demoPath } from './helpers/images';
import { requireData, SAMPLE_LABELS, tfjsModel } from './helpers/data';

const REAL_075 = tfjsModel('0.75');

describe('classify: demo photos with real weights', () => {
  let bundled: MobileNet;
  before(async () => {
    bundled = await load();
  });
  after(() => bundled.dispose());

  it('labels the cat and the coffee sensibly with the bundled α=0.25 model', async () => {
    const [cat, coffee] = await bundled.classify([fs.readFileSync(demoPath('chelsea.png')), demoPath('coffee.png')], { topk: 5 });
    console.log(`      cat: ${cat.map((c) => `${c.className} ${c.probability.toFixed(3)}`).join(', ')}`);
    console.log(`      coffee: ${coffee.map((c) => `${c.className} ${c.probability.toFixed(3)}`).join(', ')}`);
    // ImageNet 281 tabby, 282 tiger cat, 283 Persian, 284 Siamese, 285 Egyptian cat
    expect([281, 282, 283, 284, 285]).to.include(cat[0].classIndex);
    expect(cat.slice(0, 3).filter((c) => c.classIndex >= 281 && c.classIndex <= 285).length).to.be.at.least(2);
    // 967 espresso, 968 cup
    expect([967, 968]).to.include(coffee[0].classIndex);
  });

  it('sees the rocket launch as a missile/projectile/space shuttle with the α=0.75 model (the α=0.25 one does not)', async function () {
    requireData(this, REAL_075);
    const small = await bundled.classify(demoPath('rocket.jpg'), { topk: 5 });
    console.log(`      α=0.25 rocket: ${small.map((c) => `${c.className} ${c.probability.toFixed(3)}`).join(', ')}`);
    const m = await load({ weights: REAL_075 });
    try {
      const top = await m.classify(demoPath('rocket.jpg'), { topk: 3 });
      console.log(`      α=0.75 rocket: ${top.map((c) => `${c.className} ${c.probability.toFixed(3)}`).join(', ')}`);
      // 657 missile, 744 projectile, 812 space shuttle
      expect(top.some((c) => [657, 744, 812].includes(c.classIndex))).to.equal(true);
    } finally {
      m.dispose();
    }
  });
});

describe('classify: α=0.75/224 agrees with TF.js on the 200 sample photos (same decoded pixels)', function () {
  let ours: MobileNet;
  let reference: tf.LayersModel;
  let previousBackend: string;

  before(async function () {
    requireData(this, REAL_075, SAMPLE_LABELS);
    // TF.js's wasm backend keeps this 200-photo comparison to seconds; it is still TF.js computing
    // the network from the same model.json, independently of our engine.
    // (The loader selects the CPU backend, so switch after it; TF.js moves the weights over.)
    reference = await loadTfjsModelFromDir(REAL_075);
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
    previousBackend = tf.getBackend();
    expect(await tf.setBackend('wasm')).to.equal(true);
    await tf.ready();
    ours = await load({ weights: REAL_075 });
  });
  after(async () => {
    ours?.dispose();
    reference?.dispose();
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  it('has the same top-1 on ≥ 99 % of photos and probabilities within 1e-4', async () => {
    const files = fs.readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.jpg')).sort();
    expect(files.length).to.equal(200);
    let agree = 0;
    let maxDiff = 0;
    for (const file of files) {
      const pixels = await decodePixels(path.join(SAMPLE_DIR, file));
      // What @tensorflow-models/mobilenet does with a decoded image: x·(2/255) − 1, then resizeBilinear(alignCorners).
      const theirs = tf.tidy(() => {
        const img = tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32').toFloat();
        const normalized = img.mul(tf.scalar(2 / 255)).add(tf.scalar(-1));
        const resized = tf.image.resizeBilinear(normalized as tf.Tensor3D, [224, 224], true);
        return (reference.predict(resized.expandDims(0)) as tf.Tensor).dataSync() as Float32Array;
      });
      const raw = { data: pixels.data, width: pixels.width, height: pixels.height, channels: 3 as const };
      const [top] = await ours.classify(raw, { topk: 1 });
      const mine = await ours.infer(await prepareImage(raw, { resolution: 224 }), [1, 224, 224, 3]);
      let best = 0;
      for (let i = 1; i < 1000; i++) if (theirs[i] > theirs[best]) best = i;
      if (best === top.classIndex) agree++;
      for (let i = 0; i < 1000; i++) maxDiff = Math.max(maxDiff, Math.abs(theirs[i] - mine[i]));
    }
    console.log(`      top-1 agreement with TF.js: ${agree}/${files.length}; max |Δp| = ${maxDiff.toExponential(2)}`);
    expect(agree / files.length).to.be.at.least(0.99);
    expect(maxDiff).to.be.at.most(1e-4);
  });
});
