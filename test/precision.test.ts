/**
 * Reduced precision (issue 8): int8 and bf16 against fp32 on the same weights, capability detection,
 * calibration files and their error cases.
 *
 * Bounds on random weights (He-normal kernels, O(1) ReLU6 activations), all 16 α×ρ, 8 fixed inputs:
 * - int8: every u8 activation carries rounding noise of step 6/255 ≈ 0.024 (std ≈ 0.007) on values of
 *   order 1, i.e. < 1 % per layer; over 27 conv layers that adds up (as a random walk) to a few
 *   percent. Measured worst max|Δlogit| / max|logit| = 0.029 (AVX2 here and VNNI on Sapphire Rapids):
 *   bound 0.06. Pooled features keep their direction: cosine ≥ 0.999 (measured ≥ 0.9997).
 *   Without VNNI the inputs of 1×1 convs use 127 levels (step 6/127, so oneDNN's 16-bit pair sums
 *   cannot saturate — that saturation cost far more on real photos), which doubles their rounding
 *   noise: measured worst 0.067 on AVX2, bound 0.12; 1 − cosine grows with the noise squared
 *   (measured ≥ 0.9988), bound 0.998.
 * - bf16 (8-bit mantissa, relative rounding 2^-9 per activation, f32 accumulation): measured 0.005,
 *   bound 0.02; cosine ≥ 0.9999.
 * Top-1 agreement is not used on random weights: their 1000 logits are nearly tied, so a tiny change
 * flips the argmax (real weights are tested on the photos instead).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { load, randomWeights, type EngineOptions, type LoadOptions, type MobileNet } from '../lib';
import { readLabelledFolder } from '../lib/apps/accuracy';
import { convLayerNames, makeCalibration, readCalibration, saveCalibration } from '../lib/core/calibration';
import { MobileNetError } from '../lib/core/errors';
import { prepareBatch } from '../lib/core/image';
import { native } from '../lib/core/native';
import type { ArchSpec } from '../lib/core/spec';
import { quantize } from '../lib/apps/cli/commands/quantize';
import { alphaResolutionGrid } from './helpers/grid';
import { DEMO_DIR as DEMO } from './helpers/images';
import { requireData, SAMPLE_DIR as SAMPLE, SAMPLE_LABELS, skipBecause, tfjsModel as TFJS } from './helpers/data';


const info = native().info();
const supported = (p: string) => (info.precisionUnsupported ?? {})[p] === '';
/** Skips a test of a precision this CPU cannot run, with oneDNN's reason (bf16 needs AVX-512). */
function requirePrecision(ctx: Mocha.Context, p: 'int8' | 'bf16'): void {
  if (!supported(p)) skipBecause(ctx, `${p} is not supported on this CPU (${info.isaName}): ${info.precisionUnsupported?.[p]}`);
}
const hasVnni = /vnni|bf16|amx/.test(info.isaName ?? '');

function arch(alpha: number, resolution: number): ArchSpec {
  return { alpha, resolution, classes: 1000, channelRule: 'keras', padding: 'same', bnEpsilon: 1e-3, variant: 'mobilenet' };
}

function inputs(n: number, R: number, seed: number): Float32Array {
  const x = new Float32Array(n * R * R * 3);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
  return x;
}

function relMaxError(ref: Float32Array, got: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ref[i] - got[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
}

function minCosine(a: Float32Array, b: Float32Array, rows: number): number {
  const w = a.length / rows;
  let worst = 1;
  for (let r = 0; r < rows; r++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = r * w; i < (r + 1) * w; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  }
  return worst;
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<MobileNetError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(MobileNetError);
    expect((e as MobileNetError).code).to.equal(code);
    if (message) expect((e as Error).message).to.match(message);
    return e as MobileNetError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

describe('precision: options and capability detection', function () {
  this.timeout(30000);

  it('reports the ISA and, per precision, why it is refused (or nothing)', () => {
    expect(info.isaName).to.be.a('string').and.not.equal('');
    expect(info.precisionUnsupported).to.have.keys('fp32', 'bf16', 'int8');
    expect(info.precisionUnsupported!.fp32).to.equal('');
  });

  it('rejects an unknown precision and calibration without int8', async () => {
    await expectCode(load({ weights: 'random', alpha: 0.25, resolution: 64, precision: 'fp16' as 'fp32' }), 'ERR_INVALID_ARGUMENT', /fp32.*bf16.*int8/);
    await expectCode(load({ weights: 'random', alpha: 0.25, resolution: 64, calibration: 'x.json' }), 'ERR_INVALID_ARGUMENT', /int8/);
    await expectCode(load({ weights: 'random', alpha: 0.25, resolution: 64, precision: 'int8', collectActivationStats: true }), 'ERR_INVALID_ARGUMENT', /fp32/);
  });

  it('bf16 runs where the CPU has AVX-512, else ERR_UNSUPPORTED naming the missing instructions', async function () {
    if (supported('bf16')) {
      const m = await load({ weights: 'random', alpha: 0.25, resolution: 64, precision: 'bf16' });
      expect(m.precision).to.equal('bf16');
      m.dispose();
    } else {
      await expectCode(load({ weights: 'random', alpha: 0.25, resolution: 64, precision: 'bf16' }), 'ERR_UNSUPPORTED', /AVX-512.*avx2|AVX-512/);
    }
  });

  it('int8 without calibration says it uses the ReLU6 range, and notes a missing VNNI', async function () {
    requirePrecision(this, 'int8');
    const m = await load({ weights: 'random', alpha: 0.25, resolution: 64, precision: 'int8' });
    expect(m.precision).to.equal('int8');
    expect(m.quantization).to.equal('relu6');
    if (!hasVnni) expect(m.precisionNote).to.match(/VNNI/);
    const p = await m.infer(inputs(2, 64, 1), [2, 64, 64, 3]);
    for (let r = 0; r < 2; r++) expect(p.subarray(r * 1000, (r + 1) * 1000).reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-4);
    m.dispose();
  });

  // int8 runs each depthwise layer as a post-op of the 1×1 conv before it where oneDNN has a JIT
  // kernel for the pair (batch 32 on AVX2); the arithmetic is the same, so the logits must be too.
  it('int8: 1×1 + depthwise fusion gives the same logits as separate layers', async function () {
    requirePrecision(this, 'int8');
    const w = randomWeights(arch(0.75, 128), 5);  // 5 of its 13 pairs fuse with a JIT kernel on AVX2
    const x = inputs(32, 128, 3);
    const run = async (fuseDepthwise: boolean | undefined) => {
      const m = await load({ weights: w, threads: 2, precision: 'int8', engine: { fuseDepthwise } });  // undefined: the default (int8: fuse)
      try {
        const fused = (await m.profile({ batch: 32, runs: 1 })).layers.filter((l) => l.kernel.startsWith('fused into')).length;
        return { logits: await m.infer(x, [32, 128, 128, 3], { output: 'logits' }), fused };
      } finally {
        m.dispose();
      }
    };
    const on = await run(undefined);
    const off = await run(false);
    expect(off.fused, 'layers fused with engine.fuseDepthwise false').to.equal(0);
    if (on.fused === 0) skipBecause(this, `oneDNN has no fused 1×1 + depthwise int8 kernel for these pairs on ${info.isaName}: nothing to compare`);
    console.log(`      ${on.fused} depthwise layers fused at batch 32`);
    expect(relMaxError(off.logits, on.logits)).to.equal(0);
  });
});

describe('fp32: 1×1 + depthwise fusion (on AVX-512 by default, engine.fuseDepthwise: true on AVX2)', function () {
  this.timeout(120000);
  // AVX2: batch 1 runs an nhwc plan (never fused: oneDNN 2.6 crashed on the fused nhwc kernel), batch
  // 32 a blocked one. AVX-512: both run nChw16c. Where the pairs have a JIT kernel they fuse; both
  // batches must match the unfused model.
  it('runs batch 1 and batch 32 with the logits of separate layers', async () => {
    const w = randomWeights(arch(1, 224), 4);
    const x = inputs(32, 224, 6);
    const run = async (fuseDepthwise: boolean) => {
      const m = await load({ weights: w, threads: 2, engine: { fuseDepthwise } });
      try {
        return [await m.infer(x.subarray(0, 224 * 224 * 3), [1, 224, 224, 3], { output: 'logits' }),
          await m.infer(x, [32, 224, 224, 3], { output: 'logits' })];
      } finally {
        m.dispose();
      }
    };
    const off = await run(false);
    const on = await run(true);
    expect(relMaxError(off[0], on[0]), 'batch 1').to.be.below(1e-5);
    expect(relMaxError(off[1], on[1]), 'batch 32').to.be.below(1e-5);
  });
});

describe('fp32 activation layouts (engine.layout)', function () {
  this.timeout(120000);
  const avx512 = /avx512/.test(info.isaName ?? '');
  const w = randomWeights(arch(0.5, 160), 8);  // 16 channels from the first conv: nChw16c on AVX-512
  const x = inputs(3, 160, 9);
  const run = async (layout: EngineOptions['layout']) => {
    const m = await load({ weights: w, threads: 2, engine: { layout } });
    try {
      const kernels = (await m.profile({ batch: 3, runs: 1 })).layers.map((l) => l.kernel);
      return { b1: await m.infer(x.subarray(0, 160 * 160 * 3), [1, 160, 160, 3], { output: 'logits' }),
        b3: await m.infer(x, [3, 160, 160, 3], { output: 'logits' }), kernels };
    } finally {
      m.dispose();
    }
  };

  it('nhwc, any, nChw16c and the default give the same logits at batch 1 and 3', async () => {
    const base = await run('nhwc');
    expect(base.kernels.some((k) => k.startsWith('fused into')), 'nhwc plans never fuse').to.equal(false);
    for (const layout of ['any', 'nChw16c', 'auto', undefined] as const) {
      const r = await run(layout);
      expect(relMaxError(base.b1, r.b1), `${layout ?? 'default'} batch 1`).to.be.below(1e-5);
      expect(relMaxError(base.b3, r.b3), `${layout ?? 'default'} batch 3`).to.be.below(1e-5);
    }
  });

  it(`the default ${avx512 ? 'runs nChw16c with fused depthwise layers (AVX-512 here)' : 'keeps oneDNN\'s own layouts (no AVX-512 here)'}`, async () => {
    const { kernels } = await run(undefined);
    const fused = kernels.filter((k) => k.startsWith('fused into')).length;
    if (avx512) {
      expect(fused, kernels.join(', ')).to.be.greaterThan(0);
      expect(kernels.filter((k) => k.startsWith('brg')), 'no brgemm (nhwc) kernels').to.deep.equal([]);
    } else expect(fused, kernels.join(', ')).to.equal(0);
  });

  // Each bad value fails the load instead of quietly meaning its default; the model loads with a good value afterwards.
  const bad: [string, unknown][] = [['layout', 'nchw'], ['hugePages', 'no'], ['hugePages', 0], ['fuseDepthwise', 'yes'], ['fuseDepthwise', 1],
    ['nhwcMaxBatch', '4'], ['nhwcMaxBatch', 4.5], ['nhwcMaxBatch', -1], ['nhwcMaxBatch', 65537], ['waitPolicy', 'spin'], ['turbo', true]];
  for (const [name, value] of bad) {
    it(`engine.${name} = ${JSON.stringify(value)} fails the load with ERR_INVALID_ARGUMENT`, async () => {
      let err: MobileNetError | undefined;
      try {
        (await load({ weights: w, threads: 2, engine: { [name]: value } as EngineOptions })).dispose();
      } catch (e) {
        err = e as MobileNetError;
      }
      expect(err?.code).to.equal('ERR_INVALID_ARGUMENT');
      expect(err?.message).to.include(name);
    });
  }

  it('engine: null fails the load with ERR_INVALID_ARGUMENT', async () => {
    const err = await load({ weights: w, engine: null as unknown as EngineOptions }).then(() => undefined, (e: MobileNetError) => e);
    expect(err?.code).to.equal('ERR_INVALID_ARGUMENT');
  });

  it('good engine values load', async () => {
    const m = await load({ weights: w, threads: 2, engine: { layout: 'auto', hugePages: false, fuseDepthwise: true, nhwcMaxBatch: 4, waitPolicy: 'auto' } });
    const out = await m.infer(new Float32Array(m.arch.resolution ** 2 * 3), [1, m.arch.resolution, m.arch.resolution, 3]);
    expect(out.length).to.equal(m.arch.classes);
    m.dispose();
  });

  // libgomp has read its wait policy by now (the addon is loaded): asking for another one cannot work.
  it('a waitPolicy other than the one in effect fails with ERR_UNSUPPORTED', async () => {
    const errs = await Promise.all((['active', 'passive'] as const).map((waitPolicy) =>
      load({ weights: w, engine: { waitPolicy } }).then((m) => { m.dispose(); return undefined; }, (e: MobileNetError) => e)));
    const failed = errs.filter((e) => e !== undefined);
    expect(failed.length, 'at most one of active/passive can be in effect').to.be.at.least(1);
    for (const e of failed) expect(e?.code).to.equal('ERR_UNSUPPORTED');
  });
});

const precisionGrid = alphaResolutionGrid([0.25, 0.5, 0.75, 1], [128, 160, 192, 224]);
describe(`precision: random weights stay close to fp32 (${precisionGrid.length} α×ρ)`, function () {
  this.timeout(300000);
  const bound = { int8: hasVnni ? { logits: 0.06, cosine: 0.999 } : { logits: 0.12, cosine: 0.998 }, bf16: { logits: 0.02, cosine: 0.9999 } };
  type Outputs = { logits: Float32Array; embedding: Float32Array };
  const fp32 = new Map<string, Outputs>();  // one fp32 reference per configuration, shared by the modes
  const run = async (m: MobileNet, x: Float32Array, R: number): Promise<Outputs> => ({
    logits: await m.infer(x, [8, R, R, 3], { output: 'logits' }),
    embedding: await m.infer(x, [8, R, R, 3], { output: 'embedding' }),
  });
  for (const precision of ['int8', 'bf16'] as const) {
    for (const [alpha, R] of precisionGrid) {
      it(`${precision} α=${alpha} ρ=${R}`, async function () {
        requirePrecision(this, precision);
        const w = randomWeights(arch(alpha, R), 7);
        const x = inputs(8, R, 11);
        const key = `${alpha}/${R}`;
        if (!fp32.has(key)) {
          const f = await load({ weights: w, threads: 2 });
          fp32.set(key, await run(f, x, R));
          f.dispose();
        }
        const ref = fp32.get(key)!;
        const m = await load({ weights: w, threads: 2, precision });
        const got = await run(m, x, R);
        m.dispose();
        expect(relMaxError(ref.logits, got.logits), `${precision} max|Δlogit|/max|logit|`).to.be.below(bound[precision].logits);
        expect(minCosine(ref.embedding, got.embedding, 8), `${precision} embedding cosine`).to.be.above(bound[precision].cosine);
      });
    }
  }
});

describe('precision: calibration files', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-cal-'));
  const a = arch(0.25, 96);
  const w = randomWeights(a, 3);
  const maxima = new Float32Array(convLayerNames(a).length).fill(6);
  const good = path.join(tmp, 'good.json');
  before(function () {
    requirePrecision(this, 'int8');
    saveCalibration(good, makeCalibration(w, maxima, 0));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a matching file loads and the model says it is calibrated', async () => {
    const m = await load({ weights: w, precision: 'int8', calibration: good });
    expect(m.quantization).to.equal('calibration');
    // Ranges of 6 everywhere are the ReLU6 defaults: the two models must agree exactly.
    const d = await load({ weights: w, precision: 'int8' });
    const x = inputs(2, 96, 5);
    expect(Array.from(await m.infer(x, [2, 96, 96, 3]))).to.deep.equal(Array.from(await d.infer(x, [2, 96, 96, 3])));
    m.dispose();
    d.dispose();
  });

  it('missing file → ERR_CALIBRATION naming the file and how to make one', async () => {
    const missing = path.join(tmp, 'nope.json');
    await expectCode(load({ weights: w, precision: 'int8', calibration: missing }), 'ERR_CALIBRATION', /nope\.json.*mobilenet quantize/);
  });

  it('truncated file → ERR_CALIBRATION', async () => {
    const text = fs.readFileSync(good, 'utf8');
    const cut = path.join(tmp, 'cut.json');
    fs.writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
    await expectCode(load({ weights: w, precision: 'int8', calibration: cut }), 'ERR_CALIBRATION', /not valid JSON|truncated/);
  });

  it('a file for other weights, another α or resolution → ERR_CALIBRATION saying what differs', async () => {
    await expectCode(load({ weights: randomWeights(a, 4), precision: 'int8', calibration: good }), 'ERR_CALIBRATION', /other weights/);
    await expectCode(load({ weights: w, resolution: 128, precision: 'int8', calibration: good }), 'ERR_CALIBRATION', /resolution/);
    const otherAlpha = randomWeights(arch(0.5, 96), 3);
    await expectCode(load({ weights: otherAlpha, precision: 'int8', calibration: good }), 'ERR_CALIBRATION', /alpha/);
  });

  it('wrong format, version, or out-of-range layer values → ERR_CALIBRATION', async () => {
    const base = JSON.parse(fs.readFileSync(good, 'utf8'));
    const cases: Array<[string, unknown, RegExp]> = [
      ['format', { ...base, format: 'something-else' }, /format/],
      ['version', { ...base, version: 2 }, /version/],
      ['layer max', { ...base, layers: base.layers.map((l: object, i: number) => (i === 3 ? { ...l, max: 9 } : l)) }, /layer 3/],
      ['layer count', { ...base, layers: base.layers.slice(1) }, /layers/],
      ['not an object', [1, 2, 3], /format/],
    ];
    for (const [name, body, msg] of cases) {
      const f = path.join(tmp, `${name.replace(/ /g, '-')}.json`);
      fs.writeFileSync(f, JSON.stringify(body));
      await expectCode(load({ weights: w, precision: 'int8', calibration: f }), 'ERR_CALIBRATION', msg);
    }
  });

  it('mobilenet quantize measures per-layer maxima on images and the file round-trips', async function () {
    const out = path.join(tmp, 'demo.json');
    const weightsFile = path.resolve(__dirname, '..', '..', 'weights', 'mobilenet_v1_0.25_224', 'model.json');
    const n = await quantize({ weights: weightsFile, calibrate: DEMO, out, resolution: 96, threads: 2 });
    expect(n).to.be.greaterThan(0);
    const c = readCalibration(out);
    expect(c.images).to.equal(n);
    expect(c.layers.map((l) => l.name)).to.deep.equal(convLayerNames({ ...arch(0.25, 96) }));
    for (const l of c.layers) expect(l.max).to.be.within(1e-6, 6);
    const m = await load({ weights: weightsFile, resolution: 96, precision: 'int8', calibration: out });
    expect(m.quantization).to.equal('calibration');
    m.dispose();
  });
});

describe('precision: accuracy on the sample photos', function () {
  this.timeout(600000);
  const table: string[] = [];
  before(function () {
    requireData(this, SAMPLE_LABELS);
  });
  after(() => {
    if (table.length) console.log(['', '      model       precision  top-1    top-5   agree with fp32', ...table].join('\n'));
  });

  // The bounds, on every CPU. They hold without VNNI too since int8 corrects the bias shift of
  // weight rounding and keeps u8·s8 pair sums below 16-bit saturation (quantize.h, backend.cc); on the
  // AVX2 EPYC: α=0.75 86.0 → 84.5 % top-1, 97.0 % agreement; α=0.25 57.5 → 61.0 %, 89.5 % agreement.
  // bf16 (AVX512-BF16, Zen 4): α=0.75 86.0 → 85.5 %, 98.5 % agreement. The issue bounds bf16 at
  // α=0.75 only; at α=0.25 (measured 57.5 → 57.0 %, 96.0 % agreement: the narrow model's top logits
  // lie closer together) the bound is ours: 8 of 200 labels changed, and a binomial count of mean 8
  // has σ ≈ 2.8, so 3σ more (16 changes) is the bound: 92 % agreement and 2.5 points of top-1.
  const cases = [
    { alpha: '0.75', int8: { top1: 1.5, agree: 0.95 }, bf16: { top1: 0.5, agree: 0.98 } },
    { alpha: '0.25', int8: { top1: 3, agree: 0.85 }, bf16: { top1: 2.5, agree: 0.92 } },
  ] as const;
  const fp32 = new Map<string, Array<{ top: number; hit1: boolean; hit5: boolean }>>();
  for (const c of cases) {
    for (const precision of ['bf16', 'int8'] as const) {
    it(`α=${c.alpha}/224: ${precision} against fp32`, async function () {
      requireData(this, TFJS(c.alpha));
      requirePrecision(this, precision);
      const images = readLabelledFolder(SAMPLE);
      const x = await prepareBatch(images.map((i) => i.file), { resolution: 224 });
      const scores = async (precision: 'fp32' | 'bf16' | 'int8') => {
        const m = await load({ weights: TFJS(c.alpha), precision, threads: 2 });
        const p = await m.infer(x, [images.length, 224, 224, 3]);
        m.dispose();
        return images.map((im, i) => {
          const row = p.subarray(i * 1000, (i + 1) * 1000);
          const ranked = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 5);
          return { top: ranked[0], hit1: ranked[0] === im.classIndex, hit5: ranked.includes(im.classIndex) };
        });
      };
      if (!fp32.has(c.alpha)) fp32.set(c.alpha, await scores('fp32'));
      const ref = fp32.get(c.alpha)!;
      const pct = (k: number) => (100 * k) / images.length;
      const row = (name: string, r: typeof ref) => {
        const agree = r.filter((s, i) => s.top === ref[i].top).length / images.length;
        table.push(`      α=${c.alpha}/224   ${name.padEnd(9)}  ${pct(r.filter((s) => s.hit1).length).toFixed(1).padStart(5)} %  ${pct(r.filter((s) => s.hit5).length).toFixed(1).padStart(5)} %  ${(100 * agree).toFixed(1)} %`);
        return { top1: pct(r.filter((s) => s.hit1).length), agree };
      };
      const f = row('fp32', ref);
      const r = row(precision, await scores(precision));
      expect(f.top1 - r.top1, `${precision} top-1 loss (points)`).to.be.at.most(c[precision].top1);
      expect(r.agree, `${precision} top-1 agreement with fp32`).to.be.at.least(c[precision].agree);
    });
    }
  }
});
