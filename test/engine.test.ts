/** The engine behind load()/infer(): async behaviour, argument validation, dispose, concurrency. */
import { expect } from 'chai';
import { load, MobileNet, MobileNetError } from '../lib';
import { uniformImages as randomInput } from './helpers/random';

async function expectCode(p: Promise<unknown> | (() => unknown), code: string, pattern?: RegExp): Promise<MobileNetError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(MobileNetError);
    expect((e as MobileNetError).code).to.equal(code);
    if (pattern) expect((e as Error).message).to.match(pattern);
    return e as MobileNetError;
  }
  throw new Error(`expected a MobileNetError with code ${code}, but nothing was thrown`);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('engine', () => {
  let model: MobileNet;
  const R = 128;
  const x1 = randomInput(1, R, 7);
  let reference: Float32Array;

  before(async () => {
    model = await load({ weights: 'random', alpha: 0.5, resolution: R, seed: 11 });
    reference = await model.infer(x1, [1, R, R, 3]);
  });
  after(() => model.dispose());

  it('returns one probability row per image that sums to 1', async () => {
    const x = randomInput(3, R, 3);
    const p = await model.infer(x, [3, R, R, 3]);
    expect(p.length).to.equal(3 * 1000);
    for (let row = 0; row < 3; row++) {
      let sum = 0;
      for (let i = 0; i < 1000; i++) sum += p[row * 1000 + i];
      expect(sum).to.be.closeTo(1, 1e-4);
    }
  });

  it('gives logits whose softmax is the probabilities, and embeddings of width 1024·α', async () => {
    const logits = await model.infer(x1, [1, R, R, 3], { output: 'logits' });
    const max = Math.max(...logits);
    const exp = Array.from(logits, (v) => Math.exp(v - max));
    const z = exp.reduce((a, b) => a + b, 0);
    expect(maxAbsDiff(Float32Array.from(exp, (v) => v / z), reference)).to.be.below(1e-6);
    const emb = await model.infer(x1, [1, R, R, 3], { output: 'embedding' });
    expect(emb.length).to.equal(512);
    expect(model.featureWidth).to.equal(512);
    expect(emb.every((v) => v >= 0 && v <= 6)).to.equal(true, 'pooled ReLU6 features lie in [0, 6]');
  });

  it('gives each image the same result alone and inside a batch', async () => {
    const x = randomInput(4, R, 5);
    x.set(x1, 2 * R * R * 3);
    const p = await model.infer(x, [4, R, R, 3]);
    expect(maxAbsDiff(p.subarray(2000, 3000), reference)).to.be.below(1e-6);
  });

  // Plans of every batch size share two activation arenas and a scratchpad that grow with the
  // largest batch; a plan built before they grew must follow them, and its weights must outlive
  // the plain copies the engine frees after reordering.
  for (const precision of ['fp32', 'int8'] as const) {
    it(`${precision}: batch sizes in any order give the same rows (shared buffers grow under older plans)`, async () => {
      const m = await load({ weights: 'random', alpha: 0.25, resolution: 96, classes: 20, seed: 3, precision, maxBatch: 64 });
      try {
        const S = 96 * 96 * 3;
        const x = randomInput(33, 96, 9);
        const first = await m.infer(x.subarray(0, S), [1, 96, 96, 3], { output: 'logits' });
        const rows = new Map<number, Float32Array>();
        for (const n of [2, 33, 1, 8, 3, 1, 16, 2]) rows.set(n, await m.infer(x.subarray(0, n * S), [n, 96, 96, 3], { output: 'logits' }));
        const again = await m.infer(x.subarray(0, S), [1, 96, 96, 3], { output: 'logits' });
        expect(maxAbsDiff(again, first), 'batch 1 before and after larger batches').to.equal(0);
        for (const [n, r] of rows) {
          expect(r.length).to.equal(n * 20);
          expect(maxAbsDiff(r.subarray(0, 20), first), `row 0 of batch ${n}`).to.be.below(1e-5);
        }
        expect(maxAbsDiff(rows.get(16)!.subarray(0, 16 * 20), rows.get(33)!.subarray(0, 16 * 20))).to.be.below(1e-5);
      } finally {
        m.dispose();
      }
    });
  }

  it('does not block the event loop while a batch of 32 runs', async () => {
    const big = await load({ weights: 'random', alpha: 1, resolution: 224, seed: 2 });
    try {
      const x = randomInput(32, 224, 9);
      await big.infer(x.subarray(0, 224 * 224 * 3), [1, 224, 224, 3]); // build the primitives first
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const started = process.hrtime.bigint();
      await big.infer(x, [32, 224, 224, 3]);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(timer);
      console.log(`      batch 32 at α=1/224 took ${ms.toFixed(0)} ms; the 1 ms timer fired ${ticks} times meanwhile`);
      // A blocked loop fires the timer at most once; a free one fires it many times.
      expect(ticks).to.be.above(10);
    } finally {
      big.dispose();
    }
  });

  it('serves concurrent calls, each with its own result', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => randomInput(1 + (i % 3), R, 100 + i));
    const sequential: Float32Array[] = [];
    for (const x of inputs) sequential.push(await model.infer(x, [x.length / (R * R * 3), R, R, 3]));
    const concurrent = await Promise.all(inputs.map((x) => model.infer(x, [x.length / (R * R * 3), R, R, 3])));
    concurrent.forEach((p, i) => expect(maxAbsDiff(p, sequential[i])).to.be.below(1e-6));
    const stats = model.stats();
    expect(stats.jobs).to.be.at.least(24);
    expect(stats.batches).to.be.below(stats.jobs as number, 'concurrent calls were merged into fewer forward passes');
  });

  describe('bad arguments give a MobileNetError with a stable code, and the model keeps working', () => {
    const cases: Array<[string, () => Promise<unknown>, string, RegExp]> = [
      ['a tensor of the wrong length', () => model.infer(new Float32Array(10), [1, R, R, 3]), 'ERR_SHAPE', /49152 values, got 10/],
      ['a shape of the wrong resolution', () => model.infer(randomInput(1, 96, 1), [1, 96, 96, 3]), 'ERR_SHAPE', /\[n, 128, 128, 3\]/],
      ['a shape with 4 channels', () => model.infer(new Float32Array(R * R * 4), [1, R, R, 4]), 'ERR_SHAPE', /NHWC/],
      ['a shape that is not 4-D', () => model.infer(x1, [R, R, 3]), 'ERR_SHAPE', /shape must be/],
      ['a fractional batch', () => model.infer(x1, [0.5, R, R, 3]), 'ERR_SHAPE', /positive integers/],
      ['a Float64Array', () => model.infer(new Float64Array(R * R * 3) as unknown as Float32Array, [1, R, R, 3]), 'ERR_DTYPE', /Float32Array/],
      ['a plain array', () => model.infer([1, 2, 3] as unknown as Float32Array, [1, R, R, 3]), 'ERR_INVALID_ARGUMENT', /Float32Array/],
      ['an unknown output kind', () => model.infer(x1, [1, R, R, 3], { output: 'features' as 'logits' }), 'ERR_INVALID_ARGUMENT', /Expected one of 'probabilities', 'logits', 'embedding' for output but received the string "features"/],
      ['alpha NaN', () => load({ weights: 'random', alpha: NaN }), 'ERR_INVALID_ARGUMENT', /alpha/],
      ['alpha 0', () => load({ weights: 'random', alpha: 0 }), 'ERR_INVALID_ARGUMENT', /alpha/],
      ['alpha 1.5', () => load({ weights: 'random', alpha: 1.5 }), 'ERR_INVALID_ARGUMENT', /alpha/],
      ['alpha too small for one channel', () => load({ weights: 'random', alpha: 0.01 }), 'ERR_INVALID_ARGUMENT', /no channels/],
      ['resolution 31', () => load({ weights: 'random', resolution: 31 }), 'ERR_INVALID_ARGUMENT', /resolution/],
      ['resolution 100.5', () => load({ weights: 'random', resolution: 100.5 }), 'ERR_INVALID_ARGUMENT', /resolution/],
      ['threads 0', () => load({ weights: 'random', threads: 0 }), 'ERR_INVALID_ARGUMENT', /threads/],
      ['an unknown option', () => load({ weights: 'random', aplha: 0.5 } as never), 'ERR_INVALID_ARGUMENT', /unknown load\(\) option 'aplha'/],
      ['a padding mode that does not exist', () => load({ weights: 'random', padding: 'valid' as 'same' }), 'ERR_INVALID_ARGUMENT', /padding/],
      ['a weights path that does not exist', () => load({ weights: '/nonexistent/model.json' }), 'ERR_WEIGHTS', /nonexistent/],
      ['a weights object with a tensor missing', async () => {
        const { randomWeights } = await import('../lib');
        const w = randomWeights({ ...model.arch }, 1);
        w.tensors.delete('conv_pw_5/kernel');
        return load({ weights: w });
      }, 'ERR_WEIGHTS', /conv_pw_5\/kernel/],
      ['a weights object with a tensor of the wrong size', async () => {
        const { randomWeights } = await import('../lib');
        const w = randomWeights({ ...model.arch }, 1);
        w.tensors.set('conv_dw_3_bn/gamma', new Float32Array(3));
        return load({ weights: w });
      }, 'ERR_WEIGHTS', /conv_dw_3_bn\/gamma has 3 values/],
      ['alpha that contradicts the weight file', () => load({ weights: 'weights/mobilenet_v1_0.25_224/model.json', alpha: 0.5 }), 'ERR_INVALID_ARGUMENT', /alpha 0.5 does not match/],
      ['classify topk 0', () => model.classify(x1, { topk: 0 }), 'ERR_INVALID_ARGUMENT', /topk/],
      ['classify with an unknown preprocessing', () => model.classify(x1, { preprocess: 'squash' as 'tfjs' }), 'ERR_INVALID_ARGUMENT', /preprocess/],
      ['classify an empty batch', () => model.classify([]), 'ERR_INVALID_ARGUMENT', /at least one image/],
    ];
    for (const [what, call, code, pattern] of cases) {
      it(`${what} → ${code}`, async () => {
        await expectCode(call(), code, pattern);
        const again = await model.infer(x1, [1, R, R, 3]);
        expect(maxAbsDiff(again, reference)).to.equal(0);
      });
    }
  });

  // More lifetimes (a running pass, GC, threads): lifetime.test.ts.
  describe('dispose', () => {
    it('lets calls in flight finish, then rejects later calls with ERR_DISPOSED', async () => {
      const m = await load({ weights: 'random', alpha: 0.25, resolution: 96, seed: 4 });
      const x = randomInput(2, 96, 8);
      const inflight = [m.infer(x, [2, 96, 96, 3]), m.infer(x, [2, 96, 96, 3])];
      m.dispose();
      // dispose() promises that calls already made finish: both must succeed.
      for (const r of await Promise.all(inflight)) expect(r.length).to.equal(2000);
      expect(m.disposed).to.equal(true);
      await expectCode(m.infer(x, [2, 96, 96, 3]), 'ERR_DISPOSED', /disposed/);
      await expectCode(m.classify(x.subarray(0, 96 * 96 * 3)), 'ERR_DISPOSED');
      m.dispose(); // twice is harmless
    });

  });

  describe('summary and cost', () => {
    it('summary() has Table 1 rows whose totals are cost()', () => {
      const rows = model.summary();
      expect(rows[0]).to.include({ name: 'conv1', type: 'Conv / s2', filter: '3 × 3 × 3 × 16' });
      expect(rows[0].input).to.deep.equal([128, 128, 3]);
      expect(rows[0].output).to.deep.equal([64, 64, 16]);
      expect(rows.find((r) => r.name === 'conv_dw_2')).to.include({ type: 'Conv dw / s2', filter: '3 × 3 × 32 dw' });
      expect(rows.map((r) => r.type).slice(-3)).to.deep.equal(['Avg Pool / s1', 'FC / s1', 'Softmax / s1']);
      const c = model.cost();
      expect(rows.reduce((a, r) => a + r.macs, 0)).to.equal(c.macs);
      expect(rows.reduce((a, r) => a + r.params, 0)).to.equal(c.params);
    });
  });
});
