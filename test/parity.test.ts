/**
 * Exactness: the engine against an independently built TF.js MobileNet (test/helpers/reference.ts, pure-JS
 * CPU backend) holding the same random weights. The engine reads the model.json TF.js saved, so the
 * TF.js layers loader is on the path too. Tolerances: probabilities 1e-5 absolute, logits and pooled
 * features 1e-4 relative to their largest magnitude, identical top-1 per row.
 *
 * The first run builds every reference in TF.js (about 2 minutes on 2 cores, α=1/224 dominating);
 * the fixtures are cached under os.tmpdir()/mobilenet-native-fixtures and later runs take seconds.
 */
import { expect } from 'chai';
import { load, loadWeights, type ArchSpec, type MobileNet, type ModelWeights } from '../lib';
import {
  type Fixture, argmaxRows, loadTfjsModelFromDir, maxAbs, maxAbsDiff, referenceFixture, tensorsOfTfjsModel,
} from './helpers/reference';
import { alphaResolutionGrid, reducedGrid } from './helpers/grid';

const BATCH = 3;
const PROB_TOL = 1e-5;
const REL_TOL = 1e-4;

const baseArch: ArchSpec = { alpha: 1, resolution: 224, classes: 1000, channelRule: 'keras', padding: 'same', bnEpsilon: 1e-3, variant: 'mobilenet' };
const archOf = (o: Partial<ArchSpec>): ArchSpec => ({ ...baseArch, ...o });

function label(a: ArchSpec): string {
  const extras = [a.padding !== 'same' ? a.padding : '', a.channelRule !== 'keras' ? a.channelRule : '', a.variant !== 'mobilenet' ? a.variant : '']
    .filter(Boolean).join(' ');
  return `α=${a.alpha} ${a.resolution}px ${a.classes} classes${extras ? ' ' + extras : ''}`;
}

interface Measured {
  prob: number;
  logit: number;
  maxLogit: number;
  embedding: number;
}

/** Runs the engine on the first `n` fixture images and checks all three outputs against TF.js. */
async function compare(model: MobileNet, ref: Fixture, n: number): Promise<Measured> {
  const R = ref.arch.resolution;
  const size = R * R * 3;
  const x = ref.input.subarray(0, n * size);
  const shape = [n, R, R, 3];
  const k = ref.classes;
  const width = ref.embedding.length / ref.batch;
  const refProbs = ref.probabilities.subarray(0, n * k);
  const refLogits = ref.logits.subarray(0, n * k);
  const refEmbedding = ref.embedding.subarray(0, n * width);

  const probs = await model.infer(x, shape);
  const logits = await model.infer(x, shape, { output: 'logits' });
  const embedding = await model.infer(x, shape, { output: 'embedding' });
  expect(probs.length, 'probabilities length').to.equal(n * k);
  expect(logits.length, 'logits length').to.equal(n * k);
  expect(embedding.length, 'embedding length').to.equal(n * width);

  const m: Measured = {
    prob: maxAbsDiff(probs, refProbs),
    logit: maxAbsDiff(logits, refLogits),
    maxLogit: maxAbs(refLogits),
    embedding: maxAbsDiff(embedding, refEmbedding),
  };
  const what = `${label(ref.arch)} batch ${n}`;
  expect(m.prob, `${what}: max |Δ probability|`).to.be.at.most(PROB_TOL);
  expect(m.logit, `${what}: max |Δ logit| (max |logit| ${m.maxLogit.toFixed(2)})`).to.be.at.most(REL_TOL * Math.max(1, m.maxLogit));
  expect(m.embedding, `${what}: max |Δ embedding|`).to.be.at.most(REL_TOL * Math.max(1, maxAbs(refEmbedding)));
  expect(argmaxRows(probs, n), `${what}: top-1 per row`).to.deep.equal(argmaxRows(refProbs, n));
  expect(argmaxRows(logits, n), `${what}: top-1 of logits per row`).to.deep.equal(argmaxRows(refLogits, n));
  return m;
}

function report(what: string, m: Measured, ref: Fixture): void {
  const built = ref.referenceSeconds > 0 ? `, TF.js reference built in ${ref.referenceSeconds.toFixed(1)} s` : '';
  console.log(`      ${what}: max|Δp| ${m.prob.toExponential(2)}, max|Δlogit| ${m.logit.toExponential(2)} (max|logit| ${m.maxLogit.toFixed(1)}), max|Δemb| ${m.embedding.toExponential(2)}${built}`);
}

/** Loads the engine on a fixture's saved model.json, compares batch 1 and batch 3, and disposes it. */
async function checkFromFile(ref: Fixture, expectArch: Partial<ArchSpec> = {}): Promise<void> {
  const model = await load({ weights: ref.modelJson });
  try {
    const { alpha, resolution, classes, padding } = ref.arch;
    expect(model.arch, 'architecture read from model.json').to.include({ alpha, resolution, classes, padding, ...expectArch });
    for (const n of [1, BATCH]) report(`${label(ref.arch)} b=${n}`, await compare(model, ref, n), ref);
  } finally {
    model.dispose();
  }
}

describe('parity: engine vs an independent TF.js MobileNet with the same random weights', function () {
  this.timeout(600_000);

  describe('the 16 published configurations (keras channels, TF SAME padding, 1000 classes)', () => {
    const alphas = [1, 0.75, 0.5, 0.25], resolutions = [224, 192, 160, 128];
    for (const [alpha, resolution] of alphaResolutionGrid(alphas, resolutions)) {
      const arch = archOf({ alpha, resolution });
      const s = 100 + alphas.indexOf(alpha) * resolutions.length + resolutions.indexOf(resolution);  // the full grid's seeds
      it(label(arch), async () => {
        await checkFromFile(await referenceFixture(arch, s, BATCH));
      });
    }
  });

  describe('odd resolutions (TF SAME pads 1/1 at stride 2 on odd sizes, 0/1 on even)', () => {
    for (const [alpha, resolution] of [[0.25, 225], [0.5, 97]]) {
      const arch = archOf({ alpha, resolution });
      it(label(arch), async () => {
        await checkFromFile(await referenceFixture(arch, 200 + resolution, BATCH));
      });
    }
  });

  describe('symmetric (PyTorch-style) padding', () => {
    for (const [alpha, resolution] of reducedGrid ? [[0.25, 224]] : [[0.25, 224], [0.5, 160]]) {
      const seed = 300 + resolution;
      const same = archOf({ alpha, resolution });
      const symmetric = archOf({ alpha, resolution, padding: 'symmetric' });

      it(`${label(symmetric)}: matches TF.js with explicit ZeroPadding2D((1,1),(1,1))`, async () => {
        const refSym = await referenceFixture(symmetric, seed, BATCH);
        // The loader has to recognise the ZeroPadding2D + 'valid' pattern as symmetric padding.
        await checkFromFile(refSym, { padding: 'symmetric' });
      });

      it(`${label(same)}: the same tensors run with either padding match the matching TF.js model and differ from the other`, async () => {
        // One seed gives identical tensors in both TF.js models (ZeroPadding2D has no weights), so the
        // only difference between the references is where stride-2 layers pad.
        const refSame = await referenceFixture(same, seed, BATCH);
        const refSym = await referenceFixture(symmetric, seed, BATCH);
        const refGap = maxAbsDiff(refSame.logits, refSym.logits);
        expect(refGap, 'TF.js: SAME vs symmetric logits').to.be.above(100 * REL_TOL * Math.max(1, maxAbs(refSame.logits)));

        const weights: ModelWeights = await loadWeights(refSame.modelJson);
        expect(weights.arch.padding).to.equal('same');
        weights.arch = { ...weights.arch, padding: 'symmetric' };
        const model = await load({ weights });
        try {
          expect(model.arch.padding).to.equal('symmetric');
          const m = await compare(model, refSym, BATCH);
          report(`${label(symmetric)} b=${BATCH} (same.json, padding forced)`, m, refSym);
          const logits = await model.infer(refSame.input, [BATCH, resolution, resolution, 3], { output: 'logits' });
          const gap = maxAbsDiff(logits, refSame.logits);
          console.log(`      symmetric engine vs SAME TF.js: max|Δlogit| ${gap.toFixed(3)} (TF.js vs TF.js: ${refGap.toFixed(3)})`);
          expect(gap, 'engine with symmetric padding vs the SAME reference').to.be.above(100 * REL_TOL * Math.max(1, maxAbs(refSame.logits)));
        } finally {
          model.dispose();
        }

        // And back: the symmetric file's tensors forced to SAME reproduce the SAME reference.
        const symWeights = await loadWeights(refSym.modelJson);
        expect(symWeights.arch.padding).to.equal('symmetric');
        const back = await load({ weights: { ...symWeights, arch: { ...symWeights.arch, padding: 'same' } } });
        try {
          report(`${label(same)} b=${BATCH} (symmetric.json, padding forced)`, await compare(back, refSame, BATCH), refSame);
        } finally {
          back.dispose();
        }
      });
    }
  });

  describe('TF-slim channel rule and 1001-class head', () => {
    it('α=0.25 slim, 1001 classes, from model.json (slim and keras widths coincide at α=0.25)', async () => {
      const arch = archOf({ alpha: 0.25, resolution: 224, classes: 1001, channelRule: 'slim' });
      await checkFromFile(await referenceFixture(arch, 401, BATCH));
    });

    it('α=0.125 slim, 1001 classes: conv1 clamps from 4 to 8 channels', async () => {
      const arch = archOf({ alpha: 0.125, resolution: 128, classes: 1001, channelRule: 'slim' });
      const ref = await referenceFixture(arch, 402, BATCH);
      const tfModel = await loadTfjsModelFromDir(ref.dir);
      const tensors = tensorsOfTfjsModel(tfModel);
      tfModel.dispose();
      expect(tensors.get('conv1/kernel')!.length, 'reference conv1 kernel 3·3·3·8').to.equal(3 * 3 * 3 * 8);
      const model = await load({ weights: { arch, tensors, source: 'tfjs-reference', format: 'tfjs-layers' } });
      try {
        expect(model.arch.channelRule).to.equal('slim');
        for (const n of [1, BATCH]) report(`${label(arch)} b=${n}`, await compare(model, ref, n), ref);
      } finally {
        model.dispose();
      }
    });
  });

  describe('the paper\'s ablation variants (Tables 4 and 5)', () => {
    for (const arch of [archOf({ alpha: 0.5, resolution: 128, variant: 'shallow' }), archOf({ alpha: 0.25, resolution: 128, variant: 'full-conv' })]) {
      it(label(arch), async () => {
        const ref = await referenceFixture(arch, 500 + arch.resolution, BATCH);
        const tfModel = await loadTfjsModelFromDir(ref.dir);
        const tensors = tensorsOfTfjsModel(tfModel);
        tfModel.dispose();
        const model = await load({ weights: { arch, tensors, source: 'tfjs-reference', format: 'tfjs-layers' } });
        try {
          report(`${label(arch)} b=${BATCH}`, await compare(model, ref, BATCH), ref);
        } finally {
          model.dispose();
        }
      });
    }
  });
});
