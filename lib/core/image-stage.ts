/**
 * The decode + resize stage's two speed-ups over decoding every pixel and resizing in JavaScript:
 *
 * - Shrink-on-decode ('auto', the default): a JPEG whose shorter side is at least
 *   SHRINK_MIN_SIDE_FACTOR·R (2688 px for R = 224) is decoded with libjpeg's DCT scaling (1/2, 1/4
 *   or 1/8, through sharp's shrink-on-load) and reduced with sharp's 'linear' kernel to a shorter
 *   side of SHRINK_TARGET_FACTOR·R (4R), aspect ratio kept; TF's exact bilinear step then makes R×R
 *   from that. (2R cost 3 points of top-1 on the upscaled sample photos, 4R 1 point: README.) Smaller JPEGs and every other format are decoded in full, so the 'tfjs' mode stays
 *   bit-identical to TF.js on them. `decode: 'full'` turns shrinking off.
 * - The resize + normalise runs in C++ (native/image/resize.cc) on libuv's pool, straight into the
 *   caller's buffer (a batch's input), bit-identical to `resizeBilinear` in lib/core/image.ts.
 */
import { fail } from './errors';
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

/** The shorter side to reduce to while decoding, or undefined to decode every pixel (the rule above). */
export function shrinkTarget(bytes: Uint8Array, resolution: number, mode: DecodeMode): number | undefined {
  if (mode === 'full') return undefined;
  const size = jpegSize(bytes);
  if (!size) return undefined;
  return Math.min(size.width, size.height) >= SHRINK_MIN_SIDE_FACTOR * resolution ? SHRINK_TARGET_FACTOR * resolution : undefined;
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
  return native().resizeInto(p.data, p.height, p.width, p.channels, cropFor(p, preprocess, fraction), resolution, resolution, preprocess, out, offset);
}

/** The same on the calling thread (tests, and callers that cannot wait). */
export function resizeIntoNativeSync(p: StagePixels, resolution: number, preprocess: Preprocess, fraction: number, out: Float32Array, offset: number): void {
  native().resizeIntoSync(p.data, p.height, p.width, p.channels, cropFor(p, preprocess, fraction), resolution, resolution, preprocess, out, offset);
}
