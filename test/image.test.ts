import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { requireData, SAMPLE_LABELS } from './helpers/data';
import { MobileNetError } from '../lib/core/errors';
import { centralCropBox, decodePixels, prepareBatch, prepareImage, resizeBilinear } from '../lib/core/image';
import {
  demoPath, makeVariants, maxAbsDiff, meanAbsDiff, rgbOf, rng, SAMPLE_DIR, tempDir, Variant,
} from './helpers/images';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<MobileNetError> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(MobileNetError);
    expect((err as MobileNetError).code, (err as Error).message).to.equal(code);
    return err as MobileNetError;
  }
  return expect.fail(`expected rejection with ${code}`);
}

function expectValidTensor(t: Float32Array, resolution: number): void {
  expect(t).to.be.instanceOf(Float32Array);
  expect(t.length).to.equal(resolution * resolution * 3);
  let min = Infinity;
  let max = -Infinity;
  for (const v of t) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  expect(min).to.be.at.least(-1);
  expect(max).to.be.at.most(1);
  expect(max - min, 'a photo is not a flat colour').to.be.greaterThan(0.5);
}

/** Orientation applied by hand: EXIF 6 = rotate 90° clockwise, 3 = 180°, 8 = 90° anticlockwise. */
function orient(p: { data: Uint8Array; width: number; height: number }, orientation: 3 | 6 | 8) {
  const { data, width: w, height: h } = p;
  const ow = orientation === 3 ? w : h;
  const oh = orientation === 3 ? h : w;
  const out = new Uint8Array(data.length);
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const [sr, sc] = orientation === 6 ? [h - 1 - c, r] : orientation === 8 ? [c, w - 1 - r] : [h - 1 - r, w - 1 - c];
      for (let k = 0; k < 3; k++) out[(r * ow + c) * 3 + k] = data[(sr * w + sc) * 3 + k];
    }
  }
  return { data: out, width: ow, height: oh };
}

describe('image: decoding', function () {
  this.timeout(60000);
  let dir: string;
  let variants: Variant[];
  let reference: { data: Uint8Array; width: number; height: number };

  before(async () => {
    dir = tempDir();
    variants = await makeVariants(dir);
    reference = await rgbOf(demoPath('chelsea.png'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes every format and colour model to RGB pixels close to the source', async () => {
    for (const v of variants) {
      for (const input of [v.file, fs.readFileSync(v.file)]) {
        const px = await decodePixels(input);
        expect([px.width, px.height], v.name).to.deep.equal([reference.width, reference.height]);
        expect(px.data.length, v.name).to.equal(px.width * px.height * 3);
        if (v.lossless) {
          expect(maxAbsDiff(px.data, reference.data), v.name).to.equal(0);
          continue;
        }
        let want = reference.data;
        if (v.grey) {
          // Compare with the Rec. 601 luma of the source, after checking R = G = B.
          want = new Uint8Array(px.data.length);
          for (let i = 0; i < px.data.length; i += 3) {
            if (px.data[i] !== px.data[i + 1] || px.data[i] !== px.data[i + 2]) expect.fail(`${v.name}: pixel ${i / 3} is not grey`);
            const { data: d } = reference;
            want.fill(Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]), i, i + 3);
          }
        }
        expect(meanAbsDiff(px.data, want), v.name).to.be.lessThan(v.tolerance as number);
      }
      expectValidTensor(await prepareImage(v.file), 224);
    }
  });

  it('applies EXIF orientation (3, 6, 8) exactly like rotating the stored pixels', async () => {
    for (const orientation of [3, 6, 8] as const) {
      const jpeg = await sharp(demoPath('chelsea.png')).jpeg().withMetadata({ orientation }).toBuffer();
      expect((await sharp(jpeg).metadata()).orientation).to.equal(orientation);
      const stored = await rgbOf(jpeg); // sharp does not orient unless asked
      const want = orient(stored, orientation);
      const got = await decodePixels(jpeg);
      expect([got.width, got.height]).to.deep.equal([want.width, want.height]);
      expect(maxAbsDiff(got.data, want.data), `orientation ${orientation}`).to.equal(0);
      const t1 = await prepareImage(jpeg);
      const t2 = await prepareImage({ ...want, channels: 3 });
      expect(maxAbsDiff(t1, t2)).to.equal(0);
    }
  });

  it('accepts raw RGB, RGBA (alpha dropped) and grey pixels', async () => {
    const { data, width, height } = reference;
    const n = width * height;
    const rgba = new Uint8ClampedArray(n * 4);
    const grey = new Uint8Array(n);
    const greyRgb = new Uint8Array(n * 3);
    for (let p = 0; p < n; p++) {
      rgba.set(data.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = p % 256; // alpha must not change the colour
      grey[p] = data[p * 3 + 1];
      greyRgb.fill(grey[p], p * 3, p * 3 + 3);
    }
    const fromPng = await prepareImage(demoPath('chelsea.png'));
    expect(maxAbsDiff(await prepareImage({ data, width, height, channels: 3 }), fromPng)).to.equal(0);
    expect(maxAbsDiff(await prepareImage({ data: rgba, width, height, channels: 4 }), fromPng)).to.equal(0);
    expect(maxAbsDiff(await prepareImage({ data: grey, width, height, channels: 1 }), await prepareImage({ data: greyRgb, width, height, channels: 3 }))).to.equal(0);
    await rejectsWith(prepareImage({ data: grey, width, height: height + 1, channels: 1 }), 'ERR_SHAPE');
    await rejectsWith(prepareImage({ data: grey, width, height, channels: 2 as 1 }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(prepareImage({ data: Array.from(grey) as unknown as Uint8Array, width, height, channels: 1 }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(prepareImage({ data: grey, width, height, channels: 1 }, { maxPixels: n - 1 }), 'ERR_IMAGE_TOO_LARGE');
  });

  it('passes an already-prepared tensor through after a length check', async () => {
    const t = new Float32Array(160 * 160 * 3);
    expect(await prepareImage(t, { resolution: 160 })).to.equal(t);
    await rejectsWith(prepareImage(t, { resolution: 224 }), 'ERR_SHAPE');
    await rejectsWith(decodePixels(t), 'ERR_INVALID_ARGUMENT');
  });

  it('refuses images over maxPixels, missing files, empty and non-image input, bad options', async () => {
    await rejectsWith(prepareImage(demoPath('chelsea.png'), { maxPixels: 451 * 300 - 1 }), 'ERR_IMAGE_TOO_LARGE');
    expectValidTensor(await prepareImage(demoPath('chelsea.png'), { maxPixels: 451 * 300 }), 224);
    await rejectsWith(prepareImage(path.join(dir, 'no-such-file.jpg')), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(prepareImage(dir), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(prepareImage(''), 'ERR_INVALID_ARGUMENT');
    const notImage = path.join(dir, 'notes.jpg');
    fs.writeFileSync(notImage, 'this is text, not a JPEG');
    const err = await rejectsWith(prepareImage(notImage), 'ERR_INVALID_IMAGE');
    expect(err.message).to.contain('notes.jpg');
    await rejectsWith(prepareImage(Buffer.alloc(0)), 'ERR_INVALID_IMAGE');
    await rejectsWith(prepareImage(new Uint8Array([1, 2, 3])), 'ERR_INVALID_IMAGE');
    for (const bad of [42, null, undefined, {}, [1, 2], new Float64Array(3), true]) {
      await rejectsWith(prepareImage(bad as never), 'ERR_INVALID_ARGUMENT');
    }
    const png = demoPath('chelsea.png');
    for (const opts of [{ resolution: 0 }, { resolution: 22.5 }, { resolution: 1e6 }, { preprocess: 'crop' }, { maxPixels: -5 }, { maxPixels: '1e6' }, 'fast']) {
      await rejectsWith(prepareImage(png, opts as never), 'ERR_INVALID_ARGUMENT');
    }
  });

  it('decodes ArrayBuffer input and Uint8Array views into a larger buffer', async () => {
    const bytes = fs.readFileSync(demoPath('rocket.jpg'));
    const want = await prepareImage(bytes);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(maxAbsDiff(await prepareImage(ab as ArrayBuffer), want)).to.equal(0);
    const padded = new Uint8Array(bytes.length + 20);
    padded.set(bytes, 10);
    expect(maxAbsDiff(await prepareImage(padded.subarray(10, 10 + bytes.length)), want)).to.equal(0);
  });

  it('decodes every sample photo (3 greyscale, 14 smaller than 224 px)', async function () {
    requireData(this, SAMPLE_LABELS);
    const files = fs.readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.jpg')).sort();
    expect(files.length).to.be.greaterThan(100);
    const batch = await prepareBatch(files.map((f) => path.join(SAMPLE_DIR, f)), { preprocess: 'center-crop' });
    const size = 224 * 224 * 3;
    for (let i = 0; i < files.length; i++) expectValidTensor(batch.subarray(i * size, (i + 1) * size), 224);
  });
});

describe('image: preprocessing matches TensorFlow', function () {
  this.timeout(60000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('resizeBilinear equals tf.image.resizeBilinear on random images (both corner modes)', () => {
    const next = rng(42);
    const cases: Array<[number, number, number, number]> = [
      [300, 451, 224, 224], [17, 23, 224, 224], [224, 224, 224, 224], [1, 5, 7, 3], [40, 30, 1, 1], [9, 64, 128, 96], [513, 257, 160, 192],
    ];
    for (const [h, w, oh, ow] of cases) {
      const src = new Float32Array(h * w * 3).map(() => next() * 2 - 1);
      for (const alignCorners of [true, false]) {
        const got = resizeBilinear(src, h, w, 3, oh, ow, alignCorners);
        const want = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [h, w, 3]), [oh, ow], alignCorners).dataSync());
        expect(maxAbsDiff(got, want), `${h}x${w} → ${oh}x${ow}, alignCorners ${alignCorners}`).to.be.at.most(1e-5);
      }
    }
  });

  it("'tfjs' equals the @tensorflow-models/mobilenet pipeline on the same decoded pixels", async () => {
    for (const name of ['chelsea.png', 'coffee.png', 'rocket.jpg', 'astronaut.png'] as const) {
      const px = await decodePixels(demoPath(name));
      for (const resolution of [224, 128]) {
        const got = await prepareImage(demoPath(name), { resolution, preprocess: 'tfjs' });
        const want = tf.tidy(() => {
          const img = tf.tensor3d(px.data, [px.height, px.width, 3], 'int32');
          const normalized = tf.add(tf.mul(tf.cast(img, 'float32'), 2 / 255), -1) as tf.Tensor3D;
          return tf.image.resizeBilinear(normalized, [resolution, resolution], true).dataSync();
        });
        expect(maxAbsDiff(got, want), `${name} @${resolution}`).to.be.at.most(1e-5);
      }
    }
  });

  it("'center-crop' equals TF-slim's eval preprocessing (central_crop 0.875, resize, ×2−1) in TF.js ops", async () => {
    for (const name of ['chelsea.png', 'rocket.jpg'] as const) {
      const px = await decodePixels(demoPath(name));
      const got = await prepareImage(demoPath(name), { resolution: 192, preprocess: 'center-crop' });
      // tf.image.central_crop: start = int((h − h·0.875)/2), size = h − 2·start.
      const top = Math.trunc((px.height - px.height * 0.875) / 2);
      const left = Math.trunc((px.width - px.width * 0.875) / 2);
      const want = tf.tidy(() => {
        const img = tf.mul(tf.cast(tf.tensor3d(px.data, [px.height, px.width, 3], 'int32'), 'float32'), 1 / 255);
        const crop = tf.slice(img, [top, left, 0], [px.height - 2 * top, px.width - 2 * left, 3]) as tf.Tensor3D;
        return tf.mul(tf.sub(tf.image.resizeBilinear(crop, [192, 192], false), 0.5), 2).dataSync();
      });
      expect(maxAbsDiff(got, want), name).to.be.at.most(1e-5);
      expect(centralCropBox(px.height, px.width)).to.deep.equal({ top, left, height: px.height - 2 * top, width: px.width - 2 * left });
    }
  });

  it("'center-crop' never samples the outer 6.25 % border; 'tfjs' does", async () => {
    const side = 256; // crop starts at int((256 − 224)/2) = 16
    const data = new Uint8Array(side * side * 3);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const border = r < 16 || c < 16 || r >= side - 16 || c >= side - 16;
        data.set(border ? [255, 0, 0] : [0, 0, 255], (r * side + c) * 3);
      }
    }
    const crop = await prepareImage({ data, width: side, height: side, channels: 3 }, { preprocess: 'center-crop' });
    for (let i = 0; i < crop.length; i += 3) {
      if (crop[i] !== -1 || crop[i + 2] !== 1) expect.fail(`center-crop sampled the border at pixel ${i / 3}`);
    }
    const squash = await prepareImage({ data, width: side, height: side, channels: 3 }, { preprocess: 'tfjs' });
    expect(squash[0]).to.equal(1); // the top-left corner is red
  });
});

describe('image: batches', function () {
  this.timeout(60000);
  it('prepareBatch equals single images concatenated, for mixed input kinds', async () => {
    const inputs = [
      demoPath('chelsea.png'),
      fs.readFileSync(demoPath('coffee.png')),
      { ...(await decodePixels(demoPath('rocket.jpg'))), channels: 3 as const },
      await prepareImage(demoPath('astronaut.png'), { resolution: 160 }),
      demoPath('chelsea.png'),
    ];
    const batch = await prepareBatch(inputs, { resolution: 160 });
    const size = 160 * 160 * 3;
    expect(batch.length).to.equal(inputs.length * size);
    for (let i = 0; i < inputs.length; i++) {
      const single = await prepareImage(inputs[i], { resolution: 160 });
      expect(maxAbsDiff(batch.subarray(i * size, (i + 1) * size), single), `image ${i}`).to.equal(0);
    }
    expect((await prepareBatch([])).length).to.equal(0);
  });

  it('names the failing image and keeps its code', async () => {
    const err = await rejectsWith(
      prepareBatch([demoPath('chelsea.png'), Buffer.from('garbage'), demoPath('coffee.png'), 7 as never]),
      'ERR_INVALID_IMAGE',
    );
    expect(err.message).to.match(/^image 1 of 4: /);
    await rejectsWith(prepareBatch('not an array' as never), 'ERR_INVALID_ARGUMENT');
  });
});
