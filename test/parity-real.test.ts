/**
 * The real Keras MobileNets in $MOBILENET_DATA (α=0.75 and α=0.25, 224 px, trained ImageNet weights):
 * TF.js running the model.json vs the engine loading the same file. Trained weights have BN variances
 * near 1e-35 and a real classifier, which random weights do not exercise.
 */
import { expect } from 'chai';
import { load } from '../lib';
import { argmaxRows, maxAbs, maxAbsDiff, realModelReference } from './helpers/reference';

import { requireData, tfjsDir } from './helpers/data';
const BATCH = 4;

describe('parity: real TF.js MobileNet models, TF.js vs engine', function () {
  this.timeout(600_000);

  // α=0.25 is the bundled model; α=0.75 comes from the data folder.
  for (const [name, alpha, width] of [['mobilenet_v1_0.75_224', 0.75, 768], ['mobilenet_v1_0.25_224', 0.25, 256]] as const) {
    it(`${name}: probabilities, logits and pooled features match on ${BATCH} random inputs`, async function () {
      const dir = tfjsDir(alpha === 0.75 ? '0.75' : '0.25');
      requireData(this, dir);
      const ref = await realModelReference(dir, 7, BATCH);
      expect(ref.resolution).to.equal(224);
      expect(ref.classes).to.equal(1000);

      const model = await load({ weights: dir });
      try {
        expect(model.arch).to.include({ alpha, resolution: 224, classes: 1000, padding: 'same', bnEpsilon: 1e-3 });
        const shape = [BATCH, 224, 224, 3];
        const probs = await model.infer(ref.input, shape);
        const logits = await model.infer(ref.input, shape, { output: 'logits' });
        const embedding = await model.infer(ref.input, shape, { output: 'embedding' });
        expect(embedding.length).to.equal(BATCH * width);

        const dp = maxAbsDiff(probs, ref.probabilities);
        const dl = maxAbsDiff(logits, ref.logits);
        const de = maxAbsDiff(embedding, ref.embedding);
        const maxLogit = maxAbs(ref.logits);
        const built = ref.referenceSeconds > 0 ? `, TF.js reference in ${ref.referenceSeconds.toFixed(1)} s` : '';
        console.log(`      ${name} b=${BATCH}: max|Δp| ${dp.toExponential(2)}, max|Δlogit| ${dl.toExponential(2)} (max|logit| ${maxLogit.toFixed(1)}), max|Δemb| ${de.toExponential(2)}, top-1 ${argmaxRows(ref.probabilities, BATCH).join(',')}${built}`);

        expect(dp, 'max |Δ probability|').to.be.at.most(1e-5);
        expect(dl, 'max |Δ logit|').to.be.at.most(1e-4 * Math.max(1, maxLogit));
        expect(de, 'max |Δ embedding|').to.be.at.most(1e-4 * Math.max(1, maxAbs(ref.embedding)));
        expect(argmaxRows(probs, BATCH), 'top-1 per row').to.deep.equal(argmaxRows(ref.probabilities, BATCH));
        // The engine's softmax must be of its own logits: rows sum to 1.
        for (let r = 0; r < BATCH; r++) {
          const row = probs.subarray(r * 1000, (r + 1) * 1000);
          expect(row.reduce((s, v) => s + v, 0)).to.be.closeTo(1, 1e-5);
        }
      } finally {
        model.dispose();
      }
    });
  }
});
