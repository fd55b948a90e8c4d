/**
 * The JavaScript reference of the resize step: TF's bilinear resize and the per-pixel normalisation
 * of each preprocessing mode (see lib/core/image.ts). The native stage (native/image/resize.cc) is tested
 * bit-identical to it; it stays the readable statement of the arithmetic, and what tests compare to.
 */
import { fail } from './errors';
import type { DecodedPixels, Preprocess } from './image';

/** TF-slim's central_fraction for evaluation. */
export const CENTER_CROP_FRACTION = 0.875;

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Bilinear resize with TensorFlow's sampling rules, from an HWC image (or a crop box of it)
 * into `out` at `outOffset`.
 *
 * Why hand-written: TF's `resize_bilinear` (legacy mode, half_pixel_centers = false) samples at
 * `src = dst · (in − 1)/(out − 1)` with align_corners, or `src = dst · in/out` without, and does
 * no antialiasing when shrinking. sharp/libvips, canvas and Pillow all sample at pixel centres
 * and/or filter when downscaling, so none of them gives TF's numbers. This is the arithmetic of
 * the tfjs-backend-cpu kernel (interpolate in double, store as float32), which makes the 'tfjs'
 * mode match `tf.image.resizeBilinear` exactly.
 *
 * `lut`, when given, maps each (integer) source value before interpolation — used to normalise
 * uint8 pixels on the fly without allocating a float copy of a large image.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  srcHeight: number,
  srcWidth: number,
  channels: number,
  outHeight: number,
  outWidth: number,
  alignCorners: boolean,
  options: { crop?: CropBox; lut?: Float32Array; out?: Float32Array; outOffset?: number } = {},
): Float32Array {
  const crop = options.crop ?? { top: 0, left: 0, height: srcHeight, width: srcWidth };
  const out = options.out ?? new Float32Array(outHeight * outWidth * channels);
  const lut = options.lut;
  let o = options.outOffset ?? 0;
  if (
    crop.top < 0 || crop.left < 0 || crop.height < 1 || crop.width < 1 ||
    crop.top + crop.height > srcHeight || crop.left + crop.width > srcWidth ||
    src.length < srcHeight * srcWidth * channels || o + outHeight * outWidth * channels > out.length
  ) {
    fail('ERR_SHAPE', 'resizeBilinear: crop box or output buffer out of range');
  }
  const inH = crop.height;
  const inW = crop.width;
  const rowRatio = (alignCorners && outHeight > 1 ? inH - 1 : inH) / (alignCorners && outHeight > 1 ? outHeight - 1 : outHeight);
  const colRatio = (alignCorners && outWidth > 1 ? inW - 1 : inW) / (alignCorners && outWidth > 1 ? outWidth - 1 : outWidth);
  const rowStride = srcWidth * channels;

  const colLeft = new Int32Array(outWidth);
  const colRight = new Int32Array(outWidth);
  const colFrac = new Float64Array(outWidth);
  for (let c = 0; c < outWidth; c++) {
    const f = colRatio * c;
    const lo = Math.max(0, Math.floor(f));
    const hi = Math.min(inW - 1, Math.ceil(f));
    colFrac[c] = f - lo;
    colLeft[c] = (crop.left + lo) * channels;
    colRight[c] = (crop.left + hi) * channels;
  }

  for (let r = 0; r < outHeight; r++) {
    const f = rowRatio * r;
    const lo = Math.max(0, Math.floor(f));
    const hi = Math.min(inH - 1, Math.ceil(f));
    const rowFrac = f - lo;
    const top = (crop.top + lo) * rowStride;
    const bottom = (crop.top + hi) * rowStride;
    for (let c = 0; c < outWidth; c++) {
      const tl = top + colLeft[c];
      const tr = top + colRight[c];
      const bl = bottom + colLeft[c];
      const br = bottom + colRight[c];
      const cf = colFrac[c];
      for (let d = 0; d < channels; d++) {
        let topLeft = src[tl + d];
        let topRight = src[tr + d];
        let bottomLeft = src[bl + d];
        let bottomRight = src[br + d];
        if (lut) {
          topLeft = lut[topLeft];
          topRight = lut[topRight];
          bottomLeft = lut[bottomLeft];
          bottomRight = lut[bottomRight];
        }
        const t = topLeft + (topRight - topLeft) * cf;
        const b = bottomLeft + (bottomRight - bottomLeft) * cf;
        out[o++] = t + (b - t) * rowFrac;
      }
    }
  }
  return out;
}

/** TF.js mobilenet's per-pixel normalisation `x · (2/255) + (−1)` in float32, as a table. */
const TFJS_LUT = (() => {
  const k = Math.fround(2 / 255);
  const lut = new Float32Array(256);
  for (let x = 0; x < 256; x++) lut[x] = Math.fround(Math.fround(x * k) - 1);
  return lut;
})();

/** TF `convert_image_dtype(uint8 → float32)`: `x · (1/255)` in float32, as a table. */
const UNIT_LUT = (() => {
  const k = Math.fround(1 / 255);
  const lut = new Float32Array(256);
  for (let x = 0; x < 256; x++) lut[x] = Math.fround(x * k);
  return lut;
})();

/** TF `central_crop`: the box is computed in double and truncated to int, as TF does. */
export function centralCropBox(height: number, width: number, fraction: number = CENTER_CROP_FRACTION): CropBox {
  const top = Math.trunc((height - height * fraction) / 2);
  const left = Math.trunc((width - width * fraction) / 2);
  return { top, left, height: height - 2 * top, width: width - 2 * left };
}

/** Resize + normalise decoded pixels into `out` at `offset` (R·R·3 floats). */
export function pixelsToTensor(
  pixels: DecodedPixels,
  resolution: number,
  preprocess: Preprocess,
  out: Float32Array = new Float32Array(resolution * resolution * 3),
  offset = 0,
): Float32Array {
  const { data, width, height } = pixels;
  if (preprocess === 'tfjs') {
    resizeBilinear(data, height, width, 3, resolution, resolution, true, { lut: TFJS_LUT, out, outOffset: offset });
  } else {
    const crop = centralCropBox(height, width);
    resizeBilinear(data, height, width, 3, resolution, resolution, false, { crop, lut: UNIT_LUT, out, outOffset: offset });
    const end = offset + resolution * resolution * 3;
    for (let i = offset; i < end; i++) out[i] = Math.fround(out[i] - 0.5) * 2;
  }
  return out;
}
