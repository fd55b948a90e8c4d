/**
 * Hostile and broken inputs: every one must either decode to a valid tensor or reject with a
 * MobileNetError carrying one of the documented codes — no crash, no hang, no unhandled rejection.
 */
import { expect } from 'chai';
import sharp from 'sharp';
import { MobileNetError } from '../lib/core/errors';
import { prepareBatch, prepareImage } from '../lib/core/image';
import { demoPath, pngClaiming, rng } from './helpers/images';

const RESOLUTION = 64;
const ALLOWED = new Set(['ERR_INVALID_IMAGE', 'ERR_IMAGE_TOO_LARGE', 'ERR_INVALID_ARGUMENT', 'ERR_SHAPE']);

type Outcome = { ok: true } | { ok: false; code: string };

async function outcome(input: unknown, label: string): Promise<Outcome> {
  let t: Float32Array;
  try {
    t = await prepareImage(input as never, { resolution: RESOLUTION });
  } catch (err) {
    if (!(err instanceof MobileNetError)) expect.fail(`${label}: rejected with a non-MobileNetError: ${String(err)}`);
    expect(ALLOWED.has(err.code), `${label}: unexpected code ${err.code}`).to.equal(true);
    expect(err.message.length, `${label}: empty message`).to.be.greaterThan(10);
    return { ok: false, code: err.code };
  }
  expect(t.length, label).to.equal(RESOLUTION * RESOLUTION * 3);
  for (const v of t) if (!(v >= -1 && v <= 1)) expect.fail(`${label}: value ${v} outside [-1, 1]`);
  return { ok: true };
}

function mutate(base: Buffer, next: () => number): { buf: Buffer; how: string } {
  const int = (n: number) => Math.floor(next() * n);
  const buf = Buffer.from(base);
  switch (int(5)) {
    case 0: {
      const flips = 1 + int(16);
      for (let i = 0; i < flips; i++) buf[int(buf.length)] ^= 1 << int(8);
      return { buf, how: `${flips} bit flips` };
    }
    case 1: {
      const len = int(buf.length);
      return { buf: buf.subarray(0, len), how: `truncated to ${len}` };
    }
    case 2: {
      const at = int(buf.length);
      const span = 1 + int(64);
      for (let i = at; i < Math.min(buf.length, at + span); i++) buf[i] = int(256);
      return { buf, how: `${span} random bytes at ${at}` };
    }
    case 3: {
      const at = int(buf.length);
      const junk = Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256)));
      return { buf: Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]), how: `${junk.length} bytes inserted at ${at}` };
    }
    default: {
      const len = 1 + int(64);
      return { buf: buf.subarray(0, len), how: `header only (${len} bytes)` };
    }
  }
}

describe('image: fuzzing the decoder', function () {
  this.timeout(60000);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let reference: Float32Array;
  const bases: Record<string, Buffer> = {};

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    const small = () => sharp(demoPath('chelsea.png')).resize(72, 48);
    bases.jpeg = await small().jpeg({ quality: 80 }).toBuffer();
    bases.png = await small().png().toBuffer();
    bases.webp = await small().webp({ quality: 80 }).toBuffer();
    reference = await prepareImage(bases.png, { resolution: RESOLUTION });
  });

  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('hundreds of seeded mutations of JPEG, PNG and WebP files', async () => {
    const next = rng(20240601);
    const tally: Record<string, number> = {};
    for (const [format, base] of Object.entries(bases)) {
      for (let i = 0; i < 300; i++) {
        const { buf, how } = mutate(base, next);
        const r = await outcome(buf, `${format} #${i}: ${how}`);
        const key = r.ok ? 'decoded' : r.code;
        tally[key] = (tally[key] ?? 0) + 1;
      }
    }
    // Both outcomes must occur, or the mutations are not exercising anything.
    console.log(`      outcomes: ${JSON.stringify(tally)}`);
    expect(tally.decoded ?? 0).to.be.greaterThan(10);
    expect(tally.ERR_INVALID_IMAGE ?? 0).to.be.greaterThan(100);
  });

  it('random bytes, with and without a real format signature, and empty buffers', async () => {
    const next = rng(99);
    const magics = [[], [0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [...Buffer.from('RIFF\0\0\0\0WEBPVP8 ')], [...Buffer.from('GIF89a')], [0x49, 0x49, 0x2a, 0x00]];
    for (let i = 0; i < 120; i++) {
      const magic = magics[i % magics.length];
      const body = Array.from({ length: Math.floor(next() * 3000) }, () => Math.floor(next() * 256));
      const r = await outcome(Buffer.from([...magic, ...body]), `random #${i}`);
      expect(r.ok, `random #${i} decoded`).to.equal(false);
    }
    for (const empty of [Buffer.alloc(0), new Uint8Array(0), new ArrayBuffer(0)]) {
      expect(await outcome(empty, 'empty')).to.deep.equal({ ok: false, code: 'ERR_INVALID_IMAGE' });
    }
  });

  it('decompression bombs: headers that claim 30000×30000 or 65000×65000 pixels', async () => {
    expect(await outcome(pngClaiming(30000, 30000), 'PNG bomb')).to.deep.equal({ ok: false, code: 'ERR_IMAGE_TOO_LARGE' });
    // A real JPEG whose SOF0 frame header is patched to 65000×65000.
    const jpeg = Buffer.from(bases.jpeg);
    let sof = -1;
    for (let i = 0; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2)) { sof = i; break; }
    expect(sof).to.be.greaterThan(0);
    jpeg.writeUInt16BE(65000, sof + 5);
    jpeg.writeUInt16BE(65000, sof + 7);
    expect(await outcome(jpeg, 'JPEG bomb')).to.deep.equal({ ok: false, code: 'ERR_IMAGE_TOO_LARGE' });
    const raw = { data: new Uint8Array(3), width: 1e6, height: 1e6, channels: 3 };
    expect(await outcome(raw, 'raw bomb')).to.deep.equal({ ok: false, code: 'ERR_IMAGE_TOO_LARGE' });
  });

  it('values that are not images at all', async () => {
    const notImages: unknown[] = [
      0, 1, -1, NaN, Infinity, 12345678901234567890n, true, false, null, undefined, Symbol('x'), () => 1,
      {}, [], [1, 2, 3], { data: 'abc', width: 1, height: 1, channels: 3 }, { data: new Uint8Array(3), width: -1, height: 1, channels: 3 },
      { data: new Uint8Array(3), width: 1, height: 1, channels: 7 }, { data: new Uint8Array(3), width: 1.5, height: 2, channels: 1 },
      { data: new Uint8Array(2), width: 1, height: 1, channels: 3 }, new Int16Array(10), new Float64Array(12), new Float32Array(5),
      new DataView(new ArrayBuffer(4)), new Map(), new Date(), Promise.resolve(Buffer.from('x')),
    ];
    for (const [i, v] of notImages.entries()) {
      const r = await outcome(v, `not-an-image #${i}`);
      expect(r.ok, `not-an-image #${i} decoded`).to.equal(false);
    }
  });

  it('a batch mixing good and broken inputs rejects cleanly; nothing is left unhandled; good images still decode', async () => {
    const next = rng(5);
    const inputs = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? mutate(bases.jpeg, next).buf : bases.png));
    inputs.push(Buffer.from('definitely not an image'));
    try {
      await prepareBatch(inputs, { resolution: RESOLUTION });
      expect.fail('the batch holds an undecodable image');
    } catch (err) {
      expect(err).to.be.instanceOf(MobileNetError);
      expect(ALLOWED.has((err as MobileNetError).code)).to.equal(true);
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // let any stray rejection surface
    expect(unhandled).to.deep.equal([]);
    const again = await prepareImage(bases.png, { resolution: RESOLUTION });
    expect(Buffer.from(again.buffer).equals(Buffer.from(reference.buffer))).to.equal(true);
    const big = await prepareImage(demoPath('astronaut.png'));
    expect(big.length).to.equal(224 * 224 * 3);
  });
});
