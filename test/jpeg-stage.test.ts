/**
 * The JPEG fast path of the image stage (native/image/jpeg.cc, image-stage.ts jpegInto): libjpeg
 * decodes and the resize runs in the same job. It must give sharp's pixels on real photos, hand
 * back every image where it would not (and the general path then decides), and never crash on
 * damaged data.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { MobileNetError } from '../lib/core/errors';
import { prepareImage, prepareImageInto, type Preprocess } from '../lib/core/image';
import { jpegInto, jpegSize, resizeIntoNativeSync, useNativeJpeg, type DecodeMode } from '../lib/core/image-stage';
import { native } from '../lib/core/native';
import { demoPath, rng, SAMPLE_DIR, tempDir } from './helpers/images';
import { requireData } from './helpers/data';

type Options = { resolution: number; preprocess: Preprocess; decode: DecodeMode; maxPixels: number };
const opts = (resolution = 224, preprocess: Preprocess = 'tfjs', decode: DecodeMode = 'auto'): Options => ({ resolution, preprocess, decode, maxPixels: 1e8 });

/** The fast path's verdict on some JPEG bytes: '' (taken) or why not. */
async function verdict(bytes: Buffer, o = opts()): Promise<string> {
  return jpegInto(bytes, jpegSize(bytes)!, o, new Float32Array(o.resolution * o.resolution * 3), 0);
}

/** prepareImage with the fast path on and with it off (sharp alone). */
async function bothPaths(input: string | Buffer, o: { resolution?: number; preprocess?: Preprocess; decode?: DecodeMode }): Promise<[Float32Array, Float32Array]> {
  const fast = await prepareImage(input, o);
  useNativeJpeg(false);
  try {
    return [fast, await prepareImage(input, o)];
  } finally {
    useNativeJpeg(true);
  }
}

/** `jpeg` with an APP2 ICC_PROFILE marker holding `profile` (one chunk) right after its SOI. */
function withIccMarker(jpeg: Buffer, profile: Buffer, signature = 'ICC_PROFILE\0'): Buffer {
  const head = Buffer.from([0xff, 0xe2, 0, 0]);
  head.writeUInt16BE(2 + 14 + profile.length, 2);
  return Buffer.concat([jpeg.subarray(0, 2), head, Buffer.from(signature, 'latin1'), Buffer.from([1, 1]), profile, jpeg.subarray(2)]);
}

function differing(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('image stage: the JPEG fast path', function () {
  this.timeout(300000);
  let dir: string;
  before(() => {
    dir = tempDir('mobilenet-jpeg-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("gives sharp's tensors bit for bit on every sample photo, in both modes, and takes most of them", async function () {
    requireData(this, SAMPLE_DIR);
    const files = fs.readdirSync(SAMPLE_DIR).filter((f) => /\.jpe?g$/i.test(f)).map((f) => path.join(SAMPLE_DIR, f));
    const reasons: Record<string, number> = {};
    for (const [i, file] of files.entries()) {
      const why = await verdict(fs.readFileSync(file));
      reasons[why || 'taken'] = (reasons[why || 'taken'] ?? 0) + 1;
      // Both modes and both decode settings, one per photo (each pairing meets 50 photos).
      const preprocess: Preprocess = i % 2 === 0 ? 'tfjs' : 'center-crop';
      const decode: DecodeMode = i % 4 < 2 ? 'auto' : 'full';
      const [fast, general] = await bothPaths(file, { preprocess, decode });
      expect(differing(fast, general), `${path.basename(file)} (${why || 'fast path'}, ${preprocess}, ${decode})`).to.equal(0);
    }
    // 35 of the 51 photos with an ICC profile carry the standard sRGB one, which the fast path takes.
    expect(reasons.taken, JSON.stringify(reasons)).to.be.at.least(180);
    expect(Object.keys(reasons).sort()).to.deep.equal(['ICC profile', 'taken']);
  });

  it("decodes a large JPEG at 1/s as libvips' [shrink=s] does (floor of the size), from bytes or a file", async () => {
    const big = await sharp(demoPath('rocket.jpg')).resize(1601, 1403, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const file = path.join(dir, 'big.jpg');
    fs.writeFileSync(file, big);
    for (const [resolution, shrink] of [[96, 2], [64, 4], [40, 8]] as const) {  // the rule: the largest 1/s keeping 4R
      const { data, info } = await sharp(`${file}[shrink=${shrink}]`).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).to.deep.equal([Math.floor(1601 / shrink), Math.floor(1403 / shrink)]);
      for (const preprocess of ['tfjs', 'center-crop'] as const) {
        const expected = new Float32Array(resolution * resolution * 3);
        resizeIntoNativeSync({ data, width: info.width, height: info.height, channels: 3 }, resolution, preprocess, 0.875, expected, 0);
        expect(await verdict(big, opts(resolution, preprocess))).to.equal('');
        expect(differing(await prepareImage(big, { resolution, preprocess }), expected), `bytes, R ${resolution}, ${preprocess}`).to.equal(0);
        expect(differing(await prepareImage(file, { resolution, preprocess }), expected), `file, R ${resolution}, ${preprocess}`).to.equal(0);
      }
    }
  });

  it('hands back progressive, CMYK, EXIF-rotated, ICC-tagged and oversized JPEGs, and the result is still sharp\'s', async () => {
    const cat = sharp(demoPath('chelsea.png'));
    const otherIcc = path.join(dir, 'p3.icc');
    const cases: Array<[string, Buffer, string]> = [
      ['progressive', await cat.clone().jpeg({ progressive: true }).toBuffer(), 'progressive JPEG'],
      ['cmyk', await cat.clone().toColourspace('cmyk').jpeg().toBuffer(), 'not a YCbCr or grey JPEG'],
      ['rotated', await cat.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(), 'EXIF orientation'],
      ['p3', await cat.clone().jpeg().withIccProfile('p3').toBuffer(), 'ICC profile'],
    ];
    fs.writeFileSync(otherIcc, (await sharp(cases[3][1]).metadata()).icc!);
    for (const [name, bytes, why] of cases) {
      expect(await verdict(bytes), name).to.equal(why);
      const [fast, general] = await bothPaths(bytes, {});
      expect(differing(fast, general), name).to.equal(0);
    }
    const rocket = fs.readFileSync(demoPath('rocket.jpg'));
    const size = jpegSize(rocket)!;
    expect(await verdict(rocket, { ...opts(), maxPixels: size.width * size.height - 1 })).to.equal('over maxPixels');
    try {
      await prepareImage(rocket, { maxPixels: size.width * size.height - 1 });
      expect.fail('accepted');
    } catch (e) {
      expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_IMAGE_TOO_LARGE');
    }
  });

  it('takes the standard sRGB profile as sRGB: at most one level from sharp\'s colour-managed pixels', async function () {
    requireData(this, SAMPLE_DIR);
    // A sample photo that carries HP's sRGB IEC61966-2.1 profile (the fast path takes it).
    let icc: Buffer | undefined;
    for (const f of fs.readdirSync(SAMPLE_DIR).filter((n) => /\.jpe?g$/i.test(n))) {
      const bytes = fs.readFileSync(path.join(SAMPLE_DIR, f));
      const meta = await sharp(bytes).metadata();
      if (meta.icc && (await verdict(bytes)) === '') {
        icc = meta.icc;
        break;
      }
    }
    expect(icc, 'a sample photo with the standard sRGB profile').to.not.equal(undefined);
    const next = rng(7);
    const W = 256, H = 256;
    const noise = Buffer.from(Array.from({ length: W * H * 3 }, () => Math.floor(next() * 256)));
    const plain = await sharp(noise, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
    const tagged = withIccMarker(plain, icc!);
    expect(Buffer.compare((await sharp(tagged).metadata()).icc!, icc!), 'sharp reads the profile back').to.equal(0);
    expect(await verdict(tagged, opts(W))).to.equal('');
    // At R = W the 'tfjs' resize is the identity on pixels, so the tensors compare the decoded levels.
    const [fast, general] = await bothPaths(tagged, { resolution: W });
    let worst = 0;
    for (let i = 0; i < fast.length; i++) worst = Math.max(worst, Math.abs(fast[i] - general[i]));
    expect(worst, 'largest difference, in [-1, 1] units').to.be.at.most(2 / 255 + 1e-6);
    // Another rendering intent in the header is still the same profile; a changed colorant is not.
    const intent = Buffer.from(icc!);
    intent.writeUInt32BE(intent.readUInt32BE(64) === 0 ? 1 : 0, 64);
    expect(await verdict(withIccMarker(plain, intent), opts(W))).to.equal('');
    const changed = Buffer.from(icc!);
    changed[changed.length - 1] ^= 1;
    expect(await verdict(withIccMarker(plain, changed), opts(W))).to.equal('ICC profile');
    // libvips reads a profile whatever the signature's 12th byte is; so must the fast path.
    const oddSignature = withIccMarker(plain, changed, 'ICC_PROFILE ');
    expect((await sharp(oddSignature).metadata()).icc, 'sharp reads it as a profile').to.not.equal(undefined);
    expect(await verdict(oddSignature, opts(W))).to.equal('ICC profile');
  });

  it('never crashes on damaged JPEGs: a reason or an image, and the general path gives the error', async () => {
    const good = await sharp(demoPath('chelsea.png')).resize(160, 120).jpeg({ quality: 85 }).toBuffer();
    const next = rng(18);
    const out = new Float32Array(224 * 224 * 3);
    let taken = 0, handedBack = 0;
    for (let k = 0; k < 400; k++) {
      const bytes = Buffer.from(good);
      const cut = k % 4 === 0 ? Math.floor(next() * bytes.length) : bytes.length;
      for (let f = 0; f < 1 + Math.floor(next() * 8); f++) bytes[2 + Math.floor(next() * (bytes.length - 2))] ^= 1 << Math.floor(next() * 8);
      const damaged = bytes.subarray(0, cut);
      const size = jpegSize(damaged);
      if (!size) continue;
      const why = await jpegInto(damaged, size, opts(), out, 0);
      if (why === '') {
        taken++;
        expect(out.every((x) => x >= -1 && x <= 1), 'values of a decoded image').to.equal(true);
      } else handedBack++;
    }
    expect(taken + handedBack).to.be.greaterThan(100);
    expect(handedBack, 'damage libjpeg warns about is handed back').to.be.greaterThan(0);
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    expect(await verdict(truncated)).to.match(/^libjpeg: /);
    try {
      await prepareImage(truncated);
      expect.fail('accepted');
    } catch (e) {
      expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_IMAGE');
    }
  });

  it("a caller's buffers detached while the job runs: out gets a typed error, raw pixels were copied, nothing crashes", async () => {
    const jpeg = await sharp(demoPath('chelsea.png')).removeAlpha().jpeg().toBuffer();
    const png = fs.readFileSync(demoPath('chelsea.png'));
    const expected = await prepareImage(jpeg);
    for (const [name, input] of [['jpeg (fast path)', jpeg], ['png (sharp + resize)', png]] as const) {
      const out = new Float32Array(224 * 224 * 3);
      const pending = prepareImageInto(input, out, 0);
      structuredClone(out.buffer, { transfer: [out.buffer] });  // detaches out while the job runs
      try {
        await pending;
        expect.fail(`${name}: accepted`);
      } catch (e) {
        expect(e, name).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
      }
    }
    expect(differing(await prepareImage(jpeg), expected), 'the stage still works').to.equal(0);
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    const pixels = new Uint8Array(data);
    const fromRaw = prepareImage({ data: pixels, width: info.width, height: info.height, channels: 3 });
    structuredClone(pixels.buffer, { transfer: [pixels.buffer] });
    expect(differing(await fromRaw, expected), 'raw pixels resized from a copy').to.equal(0);
  });

  it('refuses bad arguments with ERR_INVALID_ARGUMENT before any work is queued', () => {
    const bytes = fs.readFileSync(demoPath('rocket.jpg'));
    const call = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'no error';
    };
    const n = native();
    expect(call(() => n.decodeJpegInto(bytes, 1, 1e8, 224, 224, 'tfjs', new Float32Array(10), 0)), 'out too short').to.equal('ERR_INVALID_ARGUMENT');
    expect(call(() => n.decodeJpegInto(bytes, 1, 1e8, 224, 224, 'sideways' as 'tfjs', new Float32Array(224 * 224 * 3), 0)), 'mode').to.equal('ERR_INVALID_ARGUMENT');
    expect(call(() => n.decodeJpegInto('x' as unknown as Uint8Array, 1, 1e8, 224, 224, 'tfjs', new Float32Array(224 * 224 * 3), 0)), 'bytes').to.equal('ERR_INVALID_ARGUMENT');
    expect(call(() => n.decodeJpegInto(bytes, 1, 0, 224, 224, 'tfjs', new Float32Array(224 * 224 * 3), 0)), 'maxPixels').to.equal('ERR_INVALID_ARGUMENT');
  });
});
