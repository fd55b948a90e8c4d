/**
 * The native decode+resize stage (lib/core/image-stage.ts, native/image/resize.cc): bit-identical to the
 * JavaScript resizeBilinear and equal to tf.image.resizeBilinear; shrink-on-decode only where its
 * rule says, and 'full' turns it off.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { MobileNetError } from '../lib/core/errors';
import { centralCropBox, prepareImage, prepareImageInto, resizeBilinear } from '../lib/core/image';
import { dctShrink, jpegSize, resizeIntoNative, resizeIntoNativeSync, shrinkOnLoadPath, shrinkTarget, SHRINK_MIN_SIDE_FACTOR, useNativeJpeg, type StagePixels } from '../lib/core/image-stage';
import { native } from '../lib/core/native';
import { demoPath, maxAbsDiff, rng, tempDir } from './helpers/images';

const TFJS_LUT = Float32Array.from({ length: 256 }, (_, x) => Math.fround(Math.fround(x * Math.fround(2 / 255)) - 1));
const UNIT_LUT = Float32Array.from({ length: 256 }, (_, x) => Math.fround(x * Math.fround(1 / 255)));

function randomPixels(h: number, w: number, channels: 1 | 3 | 4, next: () => number): StagePixels {
  return { data: Uint8Array.from({ length: h * w * channels }, () => Math.floor(next() * 256)), width: w, height: h, channels };
}

function toRgb(p: StagePixels): Uint8Array {
  if (p.channels === 3) return p.data;
  const rgb = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = p.data[i * p.channels + (p.channels === 1 ? 0 : k)];
  return rgb;
}

/** lib/core/image.ts's JavaScript path for one mode. */
function jsReference(p: StagePixels, R: number, mode: 'tfjs' | 'center-crop'): Float32Array {
  const rgb = toRgb(p);
  if (mode === 'tfjs') return resizeBilinear(rgb, p.height, p.width, 3, R, R, true, { lut: TFJS_LUT });
  const out = resizeBilinear(rgb, p.height, p.width, 3, R, R, false, { lut: UNIT_LUT, crop: centralCropBox(p.height, p.width) });
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] - 0.5) * 2;
  return out;
}

function firstDifference(a: Float32Array, b: Float32Array): string {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return 'none';
}

describe('image stage: native resize', function () {
  this.timeout(120000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('is bit-identical to the JavaScript resizeBilinear for both modes, grey/RGB/RGBA, up- and downscaling', () => {
    const next = rng(7);
    const sizes: Array<[number, number, number]> = [[375, 500, 224], [17, 23, 224], [224, 224, 224], [1, 1, 224], [2, 9, 3], [1001, 333, 128], [3000, 41, 192]];
    let compared = 0;
    for (const [h, w, R] of sizes) {
      for (const channels of [1, 3, 4] as const) {
        const p = randomPixels(h, w, channels, next);
        for (const mode of ['tfjs', 'center-crop'] as const) {
          const want = jsReference(p, R, mode);
          const got = new Float32Array(R * R * 3);
          resizeIntoNativeSync(p, R, mode, 0.875, got, 0);
          expect(firstDifference(got, want), `${h}x${w}x${channels} → ${R} ${mode}`).to.equal('none');
          compared += got.length;
        }
      }
    }
    expect(compared).to.be.greaterThan(1e6);
  });

  it("'tfjs' equals tf.image.resizeBilinear of the normalised image (align corners)", () => {
    const next = rng(11);
    for (const [h, w, R] of [[300, 451, 224], [9, 64, 128], [640, 480, 224]] as const) {
      const p = randomPixels(h, w, 3, next);
      const got = new Float32Array(R * R * 3);
      resizeIntoNativeSync(p, R, 'tfjs', 0.875, got, 0);
      const want = tf.tidy(() => {
        const img = tf.add(tf.mul(tf.cast(tf.tensor3d(p.data, [h, w, 3], 'int32'), 'float32'), 2 / 255), -1) as tf.Tensor3D;
        return tf.image.resizeBilinear(img, [R, R], true).dataSync();
      });
      expect(maxAbsDiff(got, want), `${h}x${w} → ${R}`).to.be.at.most(1e-5);
    }
  });

  it('writes off the JavaScript thread into a batch buffer at an offset, and nowhere else', async () => {
    const next = rng(3);
    const R = 32;
    const size = R * R * 3;
    const batch = new Float32Array(4 * size).fill(7);
    const images = [0, 1, 2, 3].map(() => randomPixels(50 + Math.floor(next() * 50), 40, 3, next));
    await Promise.all([2, 0].map((slot) => resizeIntoNative(images[slot], R, 'tfjs', 0.875, batch, slot * size)));
    for (const slot of [0, 2]) expect(firstDifference(batch.subarray(slot * size, (slot + 1) * size), jsReference(images[slot], R, 'tfjs'))).to.equal('none');
    for (const slot of [1, 3]) expect(batch.subarray(slot * size, (slot + 1) * size).every((v) => v === 7), `slot ${slot} untouched`).to.equal(true);
  });

  it('refuses bad arguments with ERR_INVALID_ARGUMENT, without writing', () => {
    const addon = native();
    const src = new Uint8Array(10 * 10 * 3);
    const out = new Float32Array(8 * 8 * 3);
    const bad: Array<[string, () => void]> = [
      ['short out', () => addon.resizeIntoSync(src, 10, 10, 3, [0, 0, 10, 10], 8, 8, 'tfjs', out, 1)],
      ['short src', () => addon.resizeIntoSync(src, 11, 10, 3, [0, 0, 11, 10], 8, 8, 'tfjs', out, 0)],
      ['crop outside', () => addon.resizeIntoSync(src, 10, 10, 3, [5, 0, 6, 10], 8, 8, 'tfjs', out, 0)],
      ['2 channels', () => addon.resizeIntoSync(src, 10, 10, 2, [0, 0, 10, 10], 8, 8, 'tfjs', out, 0)],
      ['unknown mode', () => addon.resizeIntoSync(src, 10, 10, 3, [0, 0, 10, 10], 8, 8, 'nearest' as 'tfjs', out, 0)],
      ['float src', () => addon.resizeIntoSync(new Float32Array(300) as unknown as Uint8Array, 10, 10, 3, [0, 0, 10, 10], 8, 8, 'tfjs', out, 0)],
    ];
    for (const [what, call] of bad) {
      expect(call, what).to.throw(Error).with.property('code', 'ERR_INVALID_ARGUMENT');
      expect(out.every((v) => v === 0), `${what}: nothing written`).to.equal(true);
    }
  });
});

describe('image stage: shrink-on-decode', function () {
  this.timeout(120000);
  let dir: string;
  let big: Buffer;
  before(async () => {
    dir = tempDir('mobilenet-stage-');
    big = await sharp(demoPath('rocket.jpg')).resize(1600, 1400, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads JPEG sizes from the frame header as sharp does, and nothing from other formats', async () => {
    for (const buf of [big, fs.readFileSync(demoPath('rocket.jpg')), await sharp(demoPath('chelsea.png')).jpeg({ progressive: true }).toBuffer()]) {
      const meta = await sharp(buf).metadata();
      expect(jpegSize(buf)).to.deep.equal({ width: meta.width, height: meta.height });
    }
    expect(jpegSize(fs.readFileSync(demoPath('chelsea.png')))).to.equal(undefined);
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 2]))).to.equal(undefined);
  });

  it(`shrinks only JPEGs whose shorter side is at least ${SHRINK_MIN_SIDE_FACTOR}·R, and never with decode 'full'`, () => {
    expect(shrinkTarget(big, 96, 'auto')).to.equal(384); // 1400 ≥ 12·96 = 1152: kept at 4·96
    expect(shrinkTarget(big, 120, 'auto')).to.equal(undefined); // 1400 < 1440
    expect(shrinkTarget(big, 96, 'full')).to.equal(undefined);
    expect(shrinkTarget(fs.readFileSync(demoPath('chelsea.png')), 16, 'auto')).to.equal(undefined);
  });

  it("'auto' on a large JPEG stays close to 'full' (not equal: it was shrunk); on a small one it is identical", async () => {
    const file = path.join(dir, 'big.jpg');
    fs.writeFileSync(file, big);
    const auto = await prepareImage(file, { resolution: 96 });
    const full = await prepareImage(file, { resolution: 96, decode: 'full' });
    const diff = maxAbsDiff(auto, full);
    expect(diff, 'the shrunk path decodes differently').to.be.greaterThan(0);
    let sum = 0;
    for (let i = 0; i < auto.length; i++) sum += Math.abs(auto[i] - full[i]);
    expect(sum / auto.length, 'mean |Δ| of the [-1, 1] tensor').to.be.below(0.05);
    const small = demoPath('rocket.jpg');
    expect(firstDifference(await prepareImage(small), await prepareImage(small, { decode: 'full' }))).to.equal('none');
  });

  it('picks the largest DCT scale that keeps the shorter side at 4R, for JPEG files only', () => {
    expect(dctShrink({ width: 4000, height: 3000 }, 224)).to.equal(2); // 1500 ≥ 896 > 750
    expect(dctShrink({ width: 6000, height: 4000 }, 224)).to.equal(4); // 1000 ≥ 896 > 500
    expect(dctShrink({ width: 8000, height: 8000 }, 224)).to.equal(8);
    expect(dctShrink({ width: 1700, height: 1791 }, 224)).to.equal(1); // 850 < 896
    const file = path.join(dir, 'big.jpg');
    expect(shrinkOnLoadPath(file, big, 96, 'auto', 40e6)).to.equal(`${file}[shrink=2]`); // 1400/2 = 700 ≥ 384 > 350
    expect(shrinkOnLoadPath(file, big, 96, 'full', 40e6)).to.equal(undefined);
    expect(shrinkOnLoadPath(file, big, 96, 'auto', 1600 * 1400 - 1), 'over maxPixels: the full decode refuses it').to.equal(undefined);
    expect(shrinkOnLoadPath(`${dir}/odd[1]`, big, 96, 'auto', 40e6), 'a name ending in ] would read as load options').to.equal(undefined);
  });

  it('decodes a large JPEG file at 1/s with no resampling kernel, from a path or from its bytes with sourceFile', async () => {
    const file = path.join(dir, 'big.jpg');
    fs.writeFileSync(file, big);
    const { data, info } = await sharp(`${file}[shrink=2]`).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).to.deep.equal([800, 700]);
    const expected = new Float32Array(96 * 96 * 3);
    resizeIntoNativeSync({ data, width: info.width, height: info.height, channels: 3 }, 96, 'tfjs', 0.875, expected, 0);
    expect(firstDifference(await prepareImage(file, { resolution: 96 }), expected), 'from the path').to.equal('none');
    const out = new Float32Array(96 * 96 * 3);
    await prepareImageInto(big, out, 0, { resolution: 96, sourceFile: file });
    expect(firstDifference(out, expected), 'bytes + sourceFile').to.equal('none');
    expect(firstDifference(await prepareImage(big, { resolution: 96 }), expected), 'bytes alone: the JPEG fast path decodes at 1/s too').to.equal('none');
    useNativeJpeg(false);
    try {
      expect(firstDifference(await prepareImage(big, { resolution: 96 }), expected), 'bytes alone through sharp: its reduce to 4R').to.not.equal('none');
    } finally {
      useNativeJpeg(true);
    }
  });

  it("'auto' reduces a large PNG while decoding (its header gives the size), and leaves a small one exact", async () => {
    const png = await sharp(big).png().toBuffer();
    expect(shrinkTarget(png, 96, 'auto', { width: 1600, height: 1400 })).to.equal(384);
    const auto = await prepareImage(png, { resolution: 96 });
    const full = await prepareImage(png, { resolution: 96, decode: 'full' });
    expect(maxAbsDiff(auto, full), 'the large PNG was reduced first').to.be.greaterThan(0);
    let sum = 0;
    for (let i = 0; i < auto.length; i++) sum += Math.abs(auto[i] - full[i]);
    expect(sum / auto.length, 'mean |Δ| of the [-1, 1] tensor').to.be.below(0.05);
    const small = fs.readFileSync(demoPath('chelsea.png'));
    expect(firstDifference(await prepareImage(small), await prepareImage(small, { decode: 'full' }))).to.equal('none');
  });

  it("refuses an unknown decode mode with ERR_INVALID_ARGUMENT", async () => {
    try {
      await prepareImage(demoPath('rocket.jpg'), { decode: 'fast' as 'auto' });
      expect.fail('accepted');
    } catch (e) {
      expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
    }
  });
});
