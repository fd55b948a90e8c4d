/**
 * Images in, model input out: decode with sharp, then resize and normalise to the float32 NHWC
 * tensor in [-1, 1] that MobileNet v1 expects.
 *
 * Two named preprocessing modes, because published accuracy figures depend on which one is used:
 *
 * - `'tfjs'` — what `@tensorflow-models/mobilenet` does (its `infer()`, checked against the
 *   tfjs-models source): cast the decoded RGB uint8 image to float, normalise it per pixel as
 *   `x · (2/255) − 1` (float32 arithmetic), then `tf.image.resizeBilinear(img, [R, R],
 *   alignCorners = true)` of the *whole* image — the aspect ratio is squashed, nothing is cropped.
 *   (Normalise-then-resize equals resize-then-normalise for a linear resize up to float rounding;
 *   we follow the library's order so the values match TF.js bit for bit on the CPU backend.)
 *
 * - `'center-crop'` — the TF-slim evaluation protocol (`inception_preprocessing.preprocess_for_eval`,
 *   used for MobileNet v1's published ImageNet numbers): convert to float in [0, 1] (`x · (1/255)`),
 *   `tf.image.central_crop(0.875)` (integer crop box: start = trunc((h − 0.875·h) / 2), size =
 *   h − 2·start), `resize_bilinear` to R×R with align_corners = false, then `(x − 0.5) · 2`.
 *   That is x/127.5 − 1 up to float rounding.
 *
 * Decoding: EXIF orientation is applied; greyscale, CMYK, palette, 16-bit and alpha images become
 * 8-bit sRGB RGB. An alpha channel is dropped, not composited over any background: transparent
 * pixels keep whatever colour they store, as with raw RGBA pixel input.
 * Animated GIF/WebP: the first frame.
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import { Blob } from 'buffer';
import { fileURLToPath } from 'url';
import { uvThreadpoolSize } from './env';
import { describe, fail, MobileNetError } from './errors';
import { checkDecodeMode, jpegInto, jpegSize, startsAsJpeg, resizeIntoNative, shrinkOnLoadPath, shrinkTarget, type DecodeMode, type StagePixels } from './image-stage';
import { CENTER_CROP_FRACTION } from './image-resize';
import { LIMITS } from './limits';
import * as v from './validate';
import { loadSharp, setSharpConcurrency } from './sharp';

export { CENTER_CROP_FRACTION, centralCropBox, pixelsToTensor, resizeBilinear, type CropBox } from './image-resize';

export type Preprocess = 'tfjs' | 'center-crop';

/** Uncompressed pixels, row-major, interleaved channels (1 = grey, 3 = RGB, 4 = RGBA); an ImageData is one. */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Default: data.length / (width · height), which must then be 1, 3 or 4. */
  channels?: 1 | 3 | 4;
}

/**
 * Anything `prepareImage` accepts: encoded image bytes (Buffer, Uint8Array, ArrayBuffer or Blob of a
 * JPEG, PNG, WebP, GIF, TIFF, AVIF, … file), a path or `file:` URL of such a file, raw pixels, or an
 * already-prepared Float32Array of length R·R·3 (NHWC, used as is).
 */
export type ImageInput = Buffer | Uint8Array | ArrayBuffer | Blob | string | URL | RawPixels | Float32Array;

export interface PrepareOptions {
  /** Output side R in pixels (default 224). */
  resolution?: number;
  /** Preprocessing mode (default 'tfjs'); see the module comment. */
  preprocess?: Preprocess;
  /** Decompression-bomb guard: images with more pixels (width·height) are refused with ERR_IMAGE_TOO_LARGE. */
  maxPixels?: number;
  /**
   * 'auto' (default): large JPEGs are shrunk while decoding (see lib/core/image-stage.ts for the rule);
   * 'full': every pixel is decoded, so 'tfjs' is bit-identical to TF.js on any image.
   */
  decode?: DecodeMode;
  /** Time limit of one decode in seconds (sharp's timeout(), which stops libvips): ERR_DECODE_TIMEOUT. Default: none. */
  timeoutSeconds?: number;
  /** The file that encoded bytes were read from: a large JPEG is then decoded from it at 1/s (lib/image-stage.ts). */
  sourceFile?: string;
}

/** Decoded 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface DecodedPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export const DEFAULT_RESOLUTION = 224;
export const DEFAULT_MAX_PIXELS = 100_000_000;
/** Larger outputs would be tens of megabytes per image and no MobileNet is trained for them. */
const MAX_RESOLUTION = LIMITS.resolution.max;

interface ResolvedOptions {
  resolution: number;
  preprocess: Preprocess;
  maxPixels: number;
  decode: DecodeMode;
  timeoutSeconds: number | undefined;
  sourceFile: string | undefined;
}

function resolveOptions(opts: unknown): ResolvedOptions {
  if (opts === undefined || opts === null) opts = {};
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    fail('ERR_INVALID_ARGUMENT', `image options must be an object, got ${describe(opts)}`);
  }
  const o = opts as PrepareOptions;
  const resolution = v.int(o.resolution ?? DEFAULT_RESOLUTION, 'resolution', 1, MAX_RESOLUTION);
  const preprocess = v.preprocess(o.preprocess ?? 'tfjs');
  const maxPixels = v.int(o.maxPixels ?? DEFAULT_MAX_PIXELS, 'maxPixels', 1);
  const timeoutSeconds = v.optional(o.timeoutSeconds, (t) => v.int(t, 'timeoutSeconds', 1, 3600));
  const sourceFile = v.optional(o.sourceFile, (f) => (typeof f === 'string' && f.length > 0 ? f : fail('ERR_INVALID_ARGUMENT', `sourceFile must be a file path, got ${describe(f)}`)));
  return { resolution, preprocess, maxPixels, timeoutSeconds, decode: checkDecodeMode(o.decode), sourceFile };
}

function isRawPixels(v: unknown): v is RawPixels {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && 'data' in v && 'width' in v && 'height' in v;
}

function rawToRgb(raw: RawPixels, maxPixels: number): DecodedPixels {
  const { data, width, height } = raw;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    fail('ERR_INVALID_ARGUMENT', `raw pixels: data must be a Uint8Array or Uint8ClampedArray, got ${describe(data)}`);
  }
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      fail('ERR_INVALID_ARGUMENT', `raw pixels: ${name} must be a positive integer, got ${describe(v)}`);
    }
  }
  const channels = raw.channels ?? data.length / (width * height);
  if (raw.channels === undefined && channels !== 1 && channels !== 3 && channels !== 4) {
    fail('ERR_SHAPE', `raw pixels without channels: ${data.length} bytes for ${width}x${height} is ${channels.toFixed(2)} per pixel, expected 1, 3 or 4 (or pass channels)`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    fail('ERR_INVALID_ARGUMENT', `raw pixels: channels must be 1, 3 or 4, got ${describe(channels)}`);
  }
  if (width * height > maxPixels) {
    fail('ERR_IMAGE_TOO_LARGE', `raw pixels: ${width}x${height} = ${width * height} pixels exceeds maxPixels = ${maxPixels}`);
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    fail(
      'ERR_SHAPE',
      `raw pixels: ${width}x${height}x${channels} needs data of length ${expected}, got ${data.length}`,
    );
  }
  if (channels === 3) {
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
  }
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let p = 0, s = 0, d = 0; p < n; p++, s += channels, d += 3) {
    // Greyscale replicates; RGBA drops alpha without compositing (documented in the module comment).
    const g = data[s];
    rgb[d] = g;
    rgb[d + 1] = channels === 1 ? g : data[s + 1];
    rgb[d + 2] = channels === 1 ? g : data[s + 2];
  }
  return { data: rgb, width, height };
}

async function bytesFromPath(file: string): Promise<string> {
  if (file.length === 0) fail('ERR_INVALID_ARGUMENT', 'expected an image file path, got an empty string');
  let stat;
  try {
    stat = await fsp.stat(file);
  } catch (err) {
    return fail('ERR_INVALID_ARGUMENT', `no readable image file at ${JSON.stringify(file)}: ${(err as Error).message}`, err);
  }
  if (!stat.isFile()) fail('ERR_INVALID_ARGUMENT', `expected an image file, but ${JSON.stringify(file)} is not a regular file`);
  return file;
}

/**
 * Decodes to 8-bit pixels (1, 3 or 4 channels as sharp leaves them), orientation applied.
 * `shrinkTo`: reduce to this shorter side while decoding (JPEG shrink-on-load, then sharp's 'linear').
 */
async function decodeRaw(source: Buffer | string, maxPixels: number, what: string, shrinkTo?: number, timeoutSeconds?: number): Promise<StagePixels> {
  let result: { data: Buffer; info: { width: number; height: number; channels: number } };
  const sharp = loadSharp();  // outside the try: a missing sharp binary is not a bad image
  try {
    // failOn 'warning' (sharp's default, recommended for untrusted input) refuses truncated or
    // damaged data instead of classifying a half-grey picture.
    let pipeline = sharp(source, { limitInputPixels: maxPixels, failOn: 'warning', pages: 1 })
      .timeout({ seconds: timeoutSeconds ?? 0 })
      .autoOrient()
      .toColourspace('srgb')
      .removeAlpha();
    if (shrinkTo !== undefined) pipeline = pipeline.resize(shrinkTo, shrinkTo, { fit: 'outside', kernel: 'linear', fastShrinkOnLoad: true });
    result = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (timeoutSeconds !== undefined && /^timeout:/.test(message))
      return fail('ERR_DECODE_TIMEOUT', `decoding ${what} took longer than ${timeoutSeconds} s and was stopped`, err);
    if (/pixel limit/i.test(message)) {
      return fail(
        'ERR_IMAGE_TOO_LARGE',
        `${what} holds an image larger than maxPixels = ${maxPixels} pixels (${message})`,
        err,
      );
    }
    return fail(
      'ERR_INVALID_IMAGE',
      `could not decode ${what} as an image (expected JPEG, PNG, WebP, GIF, TIFF, AVIF or another format sharp reads): ${message}`,
      err,
    );
  }
  const { data, info } = result;
  if (info.width * info.height > maxPixels) {
    // Orientation never changes the pixel count, but a format without size metadata could slip past sharp's check.
    fail('ERR_IMAGE_TOO_LARGE', `${what} decodes to ${info.width}x${info.height}, more than maxPixels = ${maxPixels}`);
  }
  const { width, height, channels } = info;
  if ((channels === 1 || channels === 3 || channels === 4) && data.length === width * height * channels) {
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels };
  }
  return fail(
    'ERR_INVALID_IMAGE',
    `${what} decoded to ${info.channels} channels of ${data.length} bytes for ${info.width}x${info.height}; expected RGB`,
  );
}

/** A `file:` URL's path; other schemes are refused (fetching is the caller's business). */
function pathOfUrl(url: URL | string): string {
  let parsed: URL | undefined;
  try {
    parsed = url instanceof URL ? url : new URL(url);
  } catch {
    fail('ERR_INVALID_ARGUMENT', `expected a file path or file: URL, got the malformed URL ${describe(String(url))}`);
  }
  if (parsed.protocol !== 'file:') fail('ERR_INVALID_ARGUMENT', `only file: URLs are read; fetch ${parsed.protocol} URLs yourself and pass the bytes, got ${describe(parsed.href)}`);
  return fileURLToPath(parsed);
}

async function decodeEncoded(source: Buffer | string, maxPixels: number, timeoutSeconds?: number): Promise<DecodedPixels> {
  const what = typeof source === 'string' ? `the file ${JSON.stringify(source)}` : `a buffer of ${source.length} bytes`;
  const raw = await decodeRaw(source, maxPixels, what, undefined, timeoutSeconds);
  return raw.channels === 3 ? raw : rawToRgb(raw, maxPixels);
}

/**
 * Decode any accepted image input (except a prepared Float32Array) to 8-bit RGB pixels,
 * orientation applied. Exposed so tests and tools can feed the very same pixels to other libraries.
 */
export async function decodePixels(input: ImageInput, maxPixels: number = DEFAULT_MAX_PIXELS, timeoutSeconds?: number): Promise<DecodedPixels> {
  if (typeof maxPixels !== 'number' || !Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    fail('ERR_INVALID_ARGUMENT', `maxPixels must be a positive integer, got ${describe(maxPixels)}`);
  }
  if (input instanceof URL || (typeof input === 'string' && input.startsWith('file:'))) input = pathOfUrl(input);
  if (typeof input === 'string') return decodeEncoded(await bytesFromPath(input), maxPixels, timeoutSeconds);
  if (input instanceof Blob) input = await input.arrayBuffer();
  if (input instanceof Float32Array) {
    return fail('ERR_INVALID_ARGUMENT', `expected encoded image bytes, a file path or raw pixels, got ${describe(input)} (an already-prepared tensor has no pixels to decode)`);
  }
  let bytes: Buffer | undefined;
  if (input instanceof Uint8Array) bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  else if (input instanceof ArrayBuffer) bytes = Buffer.from(input);
  if (bytes) {
    if (bytes.length === 0) fail('ERR_INVALID_IMAGE', 'expected encoded image bytes, got an empty buffer');
    return decodeEncoded(bytes, maxPixels, timeoutSeconds);
  }
  if (isRawPixels(input)) return rawToRgb(input, maxPixels);
  return fail(
    'ERR_INVALID_ARGUMENT',
    `expected an image: encoded bytes (Buffer, Uint8Array, ArrayBuffer, Blob), a file path or file: URL, raw pixels { data, width, height, channels? } or a Float32Array; got ${describe(input)}`,
  );
}

async function prepareInto(input: ImageInput, o: ResolvedOptions, out: Float32Array | undefined, offset: number): Promise<Float32Array> {
  const size = o.resolution * o.resolution * 3;
  if (input instanceof Float32Array) {
    if (input.length !== size) {
      fail(
        'ERR_SHAPE',
        `a prepared image tensor must have length ${o.resolution}·${o.resolution}·3 = ${size} (NHWC, resolution ${o.resolution}), got ${input.length}`,
      );
    }
    if (!out) return input;
    out.set(input, offset);
    return out;
  }
  const target = out ?? new Float32Array(size);
  const pixels = await decodeForStage(input, o, target, offset);
  if (pixels) await resizeIntoNative(pixels, o.resolution, o.preprocess, CENTER_CROP_FRACTION, target, offset);
  return target;
}

/**
 * decodePixels for the resize stage: shrinks large JPEGs (o.decode) and keeps grey/RGBA as they are.
 * undefined: the JPEG fast path (image-stage.ts jpegInto) has already written the image into `out`.
 */
async function decodeForStage(input: ImageInput, o: ResolvedOptions, out: Float32Array, offset: number): Promise<StagePixels | undefined> {
  if (input instanceof URL || (typeof input === 'string' && input.startsWith('file:'))) input = pathOfUrl(input);
  if (input instanceof Blob) input = await input.arrayBuffer();
  if (isRawPixels(input)) {
    // The resize reads them on libuv's pool: copied now, before any await, when they are still the
    // caller's (who may detach or reuse them meanwhile).
    const px = rawToRgb(input, o.maxPixels);
    return { ...px, data: px.data.buffer === input.data.buffer ? px.data.slice() : px.data, channels: 3 };
  }
  if (input instanceof Float32Array) return { ...(await decodePixels(input, o.maxPixels, o.timeoutSeconds)), channels: 3 };
  let bytes: Buffer;
  let what: string;
  if (typeof input === 'string') {
    const file = await bytesFromPath(input);
    what = `the file ${JSON.stringify(file)}`;
    // 'full': sharp reads any file but a JPEG itself, as it always did (no size limit of a JS buffer).
    if (o.decode === 'full' && !(await startsAsJpeg(file))) return decodeRaw(file, o.maxPixels, what, undefined, o.timeoutSeconds);
    try {
      bytes = await fsp.readFile(file);
    } catch (err) {
      return fail('ERR_INVALID_ARGUMENT', `no readable image file at ${JSON.stringify(file)}: ${(err as Error).message}`, err);
    }
    o = { ...o, sourceFile: file };
  } else if (input instanceof Uint8Array) bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  else if (input instanceof ArrayBuffer) bytes = Buffer.from(input);
  else return { ...(await decodePixels(input, o.maxPixels, o.timeoutSeconds)), channels: 3 }; // not an image: decodePixels names what it got
  if (bytes.length === 0) fail('ERR_INVALID_IMAGE', 'expected encoded image bytes, got an empty buffer');
  what ??= `a buffer of ${bytes.length} bytes`;
  const jpeg = jpegSize(bytes);  // read once: the fast path, the file rule and the buffer rule all need it
  if (jpeg && (await jpegInto(bytes, jpeg, o, out, offset)) === '') return undefined;
  if (o.decode === 'full') return decodeRaw(bytes, o.maxPixels, what, undefined, o.timeoutSeconds);
  const shrunk = o.sourceFile !== undefined && jpeg ? shrinkOnLoadPath(o.sourceFile, bytes, o.resolution, o.decode, o.maxPixels, jpeg) : undefined;
  if (shrunk !== undefined) return decodeRaw(shrunk, o.maxPixels, what, undefined, o.timeoutSeconds);
  const size = jpeg ?? (await headerSize(bytes));
  return decodeRaw(bytes, o.maxPixels, what, shrinkTarget(bytes, o.resolution, o.decode, size), o.timeoutSeconds);
}

/** Width and height from an image's header (no pixels decoded); undefined when sharp cannot read it (the decode then says why). */
async function headerSize(bytes: Buffer): Promise<{ width: number; height: number } | undefined> {
  try {
    const { width, height } = await loadSharp()(bytes, { pages: 1 }).metadata();
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** How many threads libvips (sharp) decodes with: now if sharp is loaded, else when it loads. */
export function setDecoderThreads(threads: number): void {
  setSharpConcurrency(threads);
}

/**
 * One image → Float32Array of length R·R·3 (NHWC [R, R, 3], values in [-1, 1]).
 * A Float32Array input of the right length is returned as is (no copy).
 * Rejects with MobileNetError: ERR_INVALID_IMAGE (undecodable/empty bytes), ERR_IMAGE_TOO_LARGE,
 * ERR_INVALID_ARGUMENT (not an image input, bad options, missing file), ERR_SHAPE (wrong lengths).
 */
export async function prepareImage(input: ImageInput, opts?: PrepareOptions): Promise<Float32Array> {
  return prepareInto(input, resolveOptions(opts), undefined, 0);
}

/**
 * One image written into `out` at `offset` (R·R·3 floats), e.g. a row of a batch's input buffer:
 * the decode + resize stage with no copy. Rejects like prepareImage; `out` is then partly written.
 */
export async function prepareImageInto(input: ImageInput, out: Float32Array, offset: number, opts?: PrepareOptions): Promise<void> {
  const o = resolveOptions(opts);
  if (!(out instanceof Float32Array) || !Number.isSafeInteger(offset) || offset < 0 || offset + o.resolution * o.resolution * 3 > out.length) {
    fail('ERR_SHAPE', `prepareImageInto: out must be a Float32Array with room for ${o.resolution}·${o.resolution}·3 floats at offset ${describe(offset)}`);
  }
  await prepareInto(input, o, out, offset);
}

/**
 * Several images → one Float32Array [n, R, R, 3]. Decoding runs in parallel on sharp's (libuv)
 * threads, a few images at a time so that a large batch does not hold every decoded image at once.
 * If any image fails, the promise rejects (after in-flight work settles) with that image's error
 * code and its index in the message.
 */
export async function prepareBatch(inputs: readonly ImageInput[], opts?: PrepareOptions): Promise<Float32Array> {
  if (!Array.isArray(inputs)) {
    fail('ERR_INVALID_ARGUMENT', `prepareBatch expects an array of images, got ${describe(inputs)}`);
  }
  const o = resolveOptions(opts);
  const size = o.resolution * o.resolution * 3;
  const out = new Float32Array(inputs.length * size);
  const threads = uvThreadpoolSize();
  const concurrency = Math.max(1, Math.min(inputs.length, threads, os.availableParallelism() * 2));
  let next = 0;
  const failures: Array<{ index: number; error: unknown }> = [];
  const worker = async (): Promise<void> => {
    while (failures.length === 0 && next < inputs.length) {
      const index = next++;
      try {
        await prepareInto(inputs[index], o, out, index * size);
      } catch (error) {
        failures.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures.length > 0) {
    const { index, error } = failures.reduce((a, b) => (b.index < a.index ? b : a));
    if (error instanceof MobileNetError) {
      throw new MobileNetError(error.code, `image ${index} of ${inputs.length}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  return out;
}
