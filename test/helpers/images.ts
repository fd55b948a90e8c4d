/** Image test fixtures: demo photos, format variants made with sharp at test time, a seeded PRNG. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

import { REPO_ROOT } from './data';

export { DATA_DIR, REPO_ROOT, SAMPLE_DIR } from './data';
export const DEMO_DIR = path.join(REPO_ROOT, 'assets', 'demo');
export const demoPath = (name: 'chelsea.png' | 'coffee.png' | 'rocket.jpg' | 'astronaut.png') => path.join(DEMO_DIR, name);

export function tempDir(prefix = 'mobilenet-images-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Seeded uniform [0, 1) generator (mulberry32), shared with the other test helpers. */
export { prng as rng } from './random';

export interface Variant {
  name: string;
  file: string;
  /** True when decoding must reproduce the source RGB pixels exactly. */
  lossless: boolean;
  /** Otherwise: the largest mean absolute difference (0..255 levels) from the source that is fine. */
  tolerance?: number;
  /** True when the decoded image has R = G = B. */
  grey?: boolean;
}

/** Writes the demo cat in many encodings (and colour models) into `dir`. */
export async function makeVariants(dir: string, source = demoPath('chelsea.png')): Promise<Variant[]> {
  const s = () => sharp(source);
  const specs: Array<[string, string, () => ReturnType<typeof sharp>, boolean, number?, boolean?]> = [
    ['png', 'png', () => s().png(), true],
    ['jpeg', 'jpg', () => s().jpeg({ quality: 90 }), false, 3],
    ['webp-lossy', 'webp', () => s().webp({ quality: 90 }), false, 3],
    ['webp-lossless', 'webp', () => s().webp({ lossless: true }), true],
    ['gif', 'gif', () => s().gif(), false, 3],
    ['tiff', 'tiff', () => s().tiff({ compression: 'lzw' }), true],
    ['avif', 'avif', () => s().avif({ quality: 80 }), false, 3],
    ['grey-png', 'png', () => s().toColourspace('b-w').png(), false, 3, true],
    ['grey-jpeg', 'jpg', () => s().toColourspace('b-w').jpeg(), false, 3, true],
    ['grey16-png', 'png', () => s().toColourspace('grey16').png(), false, 3, true],
    // Through sharp's default CMYK profile and back: gamut mapping moves colours more than compression.
    ['cmyk-jpeg', 'jpg', () => s().toColourspace('cmyk').jpeg({ quality: 95 }), false, 10],
    ['rgb16-png', 'png', () => s().toColourspace('rgb16').png(), true],
    ['palette-png', 'png', () => s().png({ palette: true, colours: 256 }), false, 3],
    ['rgba-png', 'png', () => s().ensureAlpha(0.5).png(), true],
  ];
  const out: Variant[] = [];
  for (const [name, ext, make, lossless, tolerance, grey] of specs) {
    const file = path.join(dir, `${name}.${ext}`);
    await make().toFile(file);
    out.push({ name, file, lossless, tolerance, grey });
  }
  return out;
}

/** Plain 8-bit RGB pixels of a file as sharp decodes them, without orientation. */
export async function rgbOf(input: string | Buffer): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG header that claims width×height RGB pixels, followed by almost no data (a "bomb"). */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const idat = require('zlib').deflateSync(Buffer.alloc(1024)) as Buffer;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}
