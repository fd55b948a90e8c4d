/**
 * The decode + resize stage's speed-ups over decoding every pixel with sharp and resizing in JavaScript:
 *
 * - The JPEG fast path (jpegInto; native/image/jpeg.cc): libjpeg decodes a baseline YCbCr or grey
 *   JPEG and the resize + normalise runs in the same job on libuv's pool, straight into the caller's
 *   buffer, holding two decoded rows at a time. sharp took 3–5 ms of CPU per ImageNet-size photo
 *   for what libjpeg decodes in 1.4 (bench:pipeline --profile). The pixels are sharp's: bit-identical
 *   on every sample photo (test/jpeg-stage.test.ts). A JPEG with an ICC profile other than the
 *   standard sRGB one, an EXIF orientation, progressive coding or CMYK, and any libjpeg warning or
 *   error, goes to sharp as before. The standard sRGB profile is taken as sRGB: sharp's lcms round
 *   trip through it moves a few saturated colours by one level, the fast path does not.
 * - Shrink-on-decode ('auto', the default) keeps the shorter side at least SHRINK_TARGET_FACTOR·R
 *   (4R) before TF's exact bilinear step makes R×R:
 *   - a JPEG is decoded with libjpeg's DCT scaling alone (1/2, 1/4 or 1/8, the largest that keeps
 *     4R): by the fast path, or for a file sharp decodes, through libvips' load option
 *     `file.jpg[shrink=s]` (the same pixels); no resampling kernel runs;
 *   - a JPEG *buffer* that the fast path hands back (sharp takes no load options there) whose
 *     shorter side is at least SHRINK_MIN_SIDE_FACTOR·R is decoded with sharp's shrink-on-load and
 *     reduced with its 'linear' kernel to a shorter side of 4R;
 *   - any other format that large is reduced the same way while libvips streams it in, so its
 *     full-size pixels never sit in memory (a 6000² PNG held 108 MB per decode, and glibc kept
 *     much of it after: docs/hostile-input.md).
 *   On the 200 sample photos upscaled to 4000×3000, α=0.75/224: full decode 86.5 % top-1, DCT 1/2
 *   alone 87.0 %, DCT + 'linear' to 4R 85.5 %, to 3R 85.0 %, to 2R 83.5 %, DCT 1/4 alone 85.0 %
 *   (README, "The whole job"). Smaller images are decoded in full, so the 'tfjs' mode stays
 *   bit-identical to TF.js on them. `decode: 'full'` turns shrinking off.
 * - Otherwise the resize + normalise runs in C++ (native/image/resize.cc) on libuv's pool, straight
 *   into the caller's buffer (a batch's input), bit-identical to `resizeBilinear` in lib/core/image-resize.ts.
 */
import { promises as fsp } from 'fs';
import { fail, MobileNetError } from './errors';
import { native } from './native';
import type { Preprocess } from './image';
import { centralCropBox } from './image-resize';

export type DecodeMode = 'auto' | 'full';

/** The shorter side kept before the exact bilinear step, in multiples of R. */
export const SHRINK_TARGET_FACTOR = 4;
/** Shrink only when libjpeg can scale by at least 1/2: sharp picks 1/s for a total shrink ≥ s + 1. */
export const SHRINK_MIN_SIDE_FACTOR = 3 * SHRINK_TARGET_FACTOR;

export function checkDecodeMode(v: unknown): DecodeMode {
  const mode = v ?? 'auto';
  if (mode !== 'auto' && mode !== 'full') fail('ERR_INVALID_ARGUMENT', `decode must be 'auto' or 'full', got ${JSON.stringify(v)}`);
  return mode;
}

/** Whether a file begins with a JPEG's SOI marker; false when it cannot be read (sharp then says why). */
export async function startsAsJpeg(file: string): Promise<boolean> {
  try {
    const fd = await fsp.open(file, 'r');
    try {
      const { buffer, bytesRead } = await fd.read(Buffer.alloc(3), 0, 3, 0);
      return bytesRead === 3 && buffer[0] === 0xff && buffer[1] === 0xd8 && buffer[2] === 0xff;
    } finally {
      await fd.close();
    }
  } catch {
    return false;
  }
}

/**
 * Width and height from a JPEG's SOFn header, without decoding; undefined when the bytes are not a
 * JPEG or no frame header is found (the caller then decodes in full, and sharp reports any damage).
 */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = (bytes[i + 5] << 8) | bytes[i + 6];
      const width = (bytes[i + 7] << 8) | bytes[i + 8];
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    if (marker === 0xda || marker === 0xd9 || length < 2) return undefined; // scan data before any frame header
    i += 2 + length;
  }
  return undefined;
}

/**
 * The shorter side to reduce to while decoding, or undefined to decode every pixel (the rule above).
 * `size`: a JPEG's from its frame header; another format's from its header (sharp's metadata()).
 */
export function shrinkTarget(bytes: Uint8Array, resolution: number, mode: DecodeMode, size = jpegSize(bytes)): number | undefined {
  if (mode === 'full' || !size) return undefined;
  return Math.min(size.width, size.height) >= SHRINK_MIN_SIDE_FACTOR * resolution ? SHRINK_TARGET_FACTOR * resolution : undefined;
}

/** The largest libjpeg DCT scale 1/s (s = 8, 4 or 2) that keeps the shorter side ≥ 4R; 1 when none does. */
export function dctShrink(size: { width: number; height: number }, resolution: number): 1 | 2 | 4 | 8 {
  const short = Math.min(size.width, size.height), keep = SHRINK_TARGET_FACTOR * resolution;
  for (const s of [8, 4, 2] as const) if (Math.floor(short / s) >= keep) return s;
  return 1;
}

/**
 * For a JPEG file that shrink-on-decode applies to: the path with libvips' load option
 * `[shrink=s]` (libjpeg decodes at 1/s); undefined to decode `bytes` as they are. `size`: the
 * JPEG's, when the caller has read it already. An image over
 * `maxPixels` is left to the full decode, which refuses it by its real size.
 */
export function shrinkOnLoadPath(file: string, bytes: Uint8Array, resolution: number, mode: DecodeMode, maxPixels: number, size = jpegSize(bytes)): string | undefined {
  if (mode === 'full' || file.endsWith(']')) return undefined;  // a name that ends in [...] would read as load options
  if (!size || size.width * size.height > maxPixels) return undefined;
  const s = dctShrink(size, resolution);
  return s > 1 ? `${file}[shrink=${s}]` : undefined;
}

let nativeJpeg = true;
/** Turns the JPEG fast path off (true: on, the default), so that tests can compare it with sharp's. */
export function useNativeJpeg(on: boolean): void {
  nativeJpeg = on;
}

/**
 * The JPEG fast path: libjpeg decodes (at 1/s where shrink-on-decode applies: the file rule above)
 * and the resize runs in the same job on libuv's pool, straight into `out` (native/image/jpeg.h).
 * Resolves '' when `out` holds the image, else why it takes the general path (sharp): not a
 * baseline YCbCr or grey JPEG, an ICC profile or EXIF orientation to apply, over maxPixels, or any
 * libjpeg warning or error. The pixels are sharp's (test/jpeg-stage.test.ts).
 */
export function jpegInto(bytes: Uint8Array, size: { width: number; height: number },
  o: { resolution: number; preprocess: Preprocess; decode: DecodeMode; maxPixels: number }, out: Float32Array, offset: number): Promise<string> {
  if (!nativeJpeg) return Promise.resolve('fast path off');
  if (size.width * size.height > o.maxPixels) return Promise.resolve('over maxPixels');
  const shrink = o.decode === 'auto' ? dctShrink(size, o.resolution) : 1;
  return typed(() => native().decodeJpegInto(bytes, shrink, o.maxPixels, o.resolution, o.resolution, o.preprocess, out, offset));
}

/** A native stage job, its argument errors (thrown or rejected: out detached meanwhile) as MobileNetError. */
async function typed<T>(job: () => Promise<T>): Promise<T> {
  try {
    return await job();
  } catch (e) {
    const { code, message } = e as { code?: unknown; message?: string };
    if (code === 'ERR_INVALID_ARGUMENT') throw new MobileNetError(code, message ?? 'image stage: invalid argument', { cause: e });
    throw e;
  }
}

export interface StagePixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

function cropFor(p: StagePixels, preprocess: Preprocess, fraction: number): [number, number, number, number] {
  if (preprocess === 'tfjs') return [0, 0, p.height, p.width];
  const box = centralCropBox(p.height, p.width, fraction);
  return [box.top, box.left, box.height, box.width];
}

/** Resize + normalise on libuv's pool into `out` at `offset` (R·R·3 floats); resolves when written. */
export function resizeIntoNative(p: StagePixels, resolution: number, preprocess: Preprocess, fraction: number, out: Float32Array, offset: number): Promise<void> {
  return typed(() => native().resizeInto(p.data, p.height, p.width, p.channels, cropFor(p, preprocess, fraction), resolution, resolution, preprocess, out, offset));
}

/** The same on the calling thread (tests, and callers that cannot wait). */
export function resizeIntoNativeSync(p: StagePixels, resolution: number, preprocess: Preprocess, fraction: number, out: Float32Array, offset: number): void {
  native().resizeIntoSync(p.data, p.height, p.width, p.channels, cropFor(p, preprocess, fraction), resolution, resolution, preprocess, out, offset);
}
