/**
 * Micro-batching: concurrent calls are merged into shared forward passes, yet every caller gets
 * exactly its own rows, in whatever mix of batch sizes and outputs they come.
 */
import { expect } from 'chai';
import { load, type MobileNet } from '../lib';
import { skipBecause } from './helpers/skip';

const R = 64;
const SIZE = R * R * 3;

/** Images that differ clearly after global pooling, so a row mix-up cannot go unnoticed. */
function image(i: number): Float32Array {
  const x = new Float32Array(SIZE);
  let s = (i + 1) * 2654435761;
  const offset = ((i * 0.173) % 1.2) - 0.6;
  for (let k = 0; k < SIZE; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[k] = Math.max(-1, Math.min(1, offset + 0.4 * ((s / 2 ** 32) * 2 - 1)));
  }
  return x;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('executor: micro-batching', function () {
  this.timeout(120000);
  let model: MobileNet;
  const singles: Float32Array[] = [];
  const singleLogits: Float32Array[] = [];

  before(async () => {
    model = await load({ weights: 'random', alpha: 0.25, resolution: R, classes: 50, seed: 3, threads: 2 });
    // Reference: each image alone, one call at a time.
    for (let i = 0; i < 64; i++) {
      singles.push(await model.infer(image(i), [1, R, R, 3]));
      singleLogits.push(await model.infer(image(i), [1, R, R, 3], { output: 'logits' }));
    }
  });

  after(() => model?.dispose());

  it('the reference rows differ from each other (a mix-up would show)', () => {
    // Every pair, at ten times the tolerance the checks below use.
    let minGap = Infinity;
    for (let i = 0; i < 64; i++) for (let j = 0; j < i; j++) minGap = Math.min(minGap, maxAbsDiff(singles[i], singles[j]));
    expect(minGap).to.be.greaterThan(1e-4);
  });

  it('64 concurrent single-image calls: each gets its own result, in fewer forward passes', async () => {
    const before = model.stats().batches ?? 0;
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => model.infer(image(i), [1, R, R, 3])));
    const passes = (model.stats().batches ?? 0) - before;
    results.forEach((r, i) => expect(maxAbsDiff(r, singles[i]), `caller ${i}`).to.be.at.most(1e-5));
    // Calls made in one synchronous run reach the executor together (it is held until the next
    // microtask), so they fill whole batches of maxBatch (32) instead of the first starting alone.
    expect(passes, 'forward passes for 64 calls').to.equal(2);
  });

  it('calls followed by dispose() in the same tick still run and settle', async () => {
    const m = await load({ weights: 'random', alpha: 0.25, resolution: R, classes: 50, seed: 3, threads: 2 });
    const pending = Array.from({ length: 5 }, (_, i) => m.infer(image(i), [1, R, R, 3]));
    m.dispose();  // while the executor is still held for these calls
    const results = await Promise.all(pending);
    results.forEach((r, i) => expect(maxAbsDiff(r, singles[i]), `caller ${i}`).to.be.at.most(1e-5));
  });

  it('mixed batch sizes and outputs in one burst (remainders padded or split)', async () => {
    const sizes = [3, 1, 7, 2, 13, 1, 5, 11, 1, 20];
    let at = 0;
    const jobs = sizes.map((n, k) => {
      const first = at;
      at = (at + n) % 40;
      const x = new Float32Array(n * SIZE);
      for (let r = 0; r < n; r++) x.set(image((first + r) % 64), r * SIZE);
      const output = k % 3 === 1 ? 'logits' as const : 'probabilities' as const;
      return { n, first, output, p: model.infer(x, [n, R, R, 3], { output }) };
    });
    for (const j of jobs) {
      const got = await j.p;
      for (let r = 0; r < j.n; r++) {
        const want = (j.output === 'logits' ? singleLogits : singles)[(j.first + r) % 64];
        const row = got.subarray(r * 50, (r + 1) * 50);
        expect(maxAbsDiff(row, want), `job of ${j.n}, row ${r}`).to.be.at.most(j.output === 'logits' ? 1e-4 : 1e-5);
      }
    }
  });

  it('a batch larger than maxBatch is split into passes and stays exact', async () => {
    const n = 45;
    const x = new Float32Array(n * SIZE);
    for (let r = 0; r < n; r++) x.set(image(r), r * SIZE);
    const before = model.stats().batches ?? 0;
    const got = await model.infer(x, [n, R, R, 3]);
    expect((model.stats().batches ?? 0) - before).to.be.greaterThan(1);
    for (let r = 0; r < n; r++) expect(maxAbsDiff(got.subarray(r * 50, (r + 1) * 50), singles[r]), `row ${r}`).to.be.at.most(1e-5);
  });

  it('a failing caller does not affect the others merged with it', async () => {
    const good = Array.from({ length: 8 }, (_, i) => model.infer(image(i), [1, R, R, 3]));
    const bad = model.infer(new Float32Array(5), [1, R, R, 3]).then(() => 'resolved', (e: { code?: string }) => e.code);
    const results = await Promise.all(good);
    expect(await bad).to.equal('ERR_SHAPE');
    results.forEach((r, i) => expect(maxAbsDiff(r, singles[i])).to.be.at.most(1e-5));
  });
});

describe('executor: merged passes read each caller\'s rows in place', function () {
  this.timeout(120000);

  // Each caller's rows go through their own input reorder (int8: with the input's quantisation scale),
  // and a padded tail is zeroed; merged results must equal the same images run alone.
  for (const precision of ['fp32', 'int8'] as const) {
    it(`${precision}: 11 concurrent calls of 1–3 images over passes of maxBatch 8 equal single runs`, async function () {
      const { native } = await import('../lib/core/native');
      const why = native().info().precisionUnsupported?.[precision];
      if (why) skipBecause(this, `${precision} is not supported on this CPU: ${why}`);
      const m = await load({ weights: 'random', alpha: 0.5, resolution: R, classes: 30, seed: 4, precision, maxBatch: 8, threads: 2 });
      try {
        const sizes = [1, 3, 2, 1, 1, 3, 2, 1, 2, 1, 3];
        let next = 0;
        const inputs = sizes.map((n) => {
          const x = new Float32Array(n * SIZE);
          for (let k = 0; k < n; k++) x.set(image(next++), k * SIZE);
          return x;
        });
        const alone: Float32Array[] = [];
        for (let i = 0; i < inputs.length; i++) alone.push(await m.infer(inputs[i], [sizes[i], R, R, 3], { output: 'logits' }));
        const before = m.stats().batches ?? 0;
        const merged = await Promise.all(inputs.map((x, i) => m.infer(x, [sizes[i], R, R, 3], { output: 'logits' })));
        expect((m.stats().batches ?? 0) - before, 'forward passes').to.be.lessThan(inputs.length);
        merged.forEach((r, i) => expect(maxAbsDiff(r, alone[i]), `caller ${i}`).to.be.at.most(1e-4));
      } finally {
        m.dispose();
      }
    });
  }
});
