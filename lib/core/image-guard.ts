/**
 * A budget for decoding untrusted images, shared by the server and `batch`:
 * - formats are judged by their magic bytes, not by a name or a Content-Type: JPEG, PNG, WebP, GIF,
 *   TIFF and AVIF only. SVG (whose render cost has nothing to do with its size: 195 bytes can blur a
 *   6000² canvas for minutes) only when allowed, and then rasterised in a child process that is
 *   killed at the time limit, because librsvg's render cannot be interrupted in-process;
 * - each decode has a time limit (sharp's timeout, which stops libvips) and the pixel limit;
 * - decodes run at most `maxConcurrent` at once (SVG: one at a time), with a bounded wait list,
 *   and `saturation()` says when both are full, for a readiness probe.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fail, MobileNetError } from './errors';
import { native } from './native';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'svg';
export const RASTER_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'];

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.buffer, b.byteOffset + from, Math.max(0, Math.min(to, b.length) - from)).toString('latin1');

/** The format of encoded image bytes by their signature, or undefined for anything else. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | undefined {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]) || startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (ascii(b, 4, 8) === 'ftyp') {
    // ISO-BMFF: the major brand and the compatible brands of the ftyp box; HEIC and video are not AVIF.
    const size = Math.min(b.length, ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0, 256);
    for (let at = 8; at + 4 <= size; at += 4) {
      if (at === 12) continue; // minor version
      const brand = ascii(b, at, at + 4);
      if (brand === 'avif' || brand === 'avis') return 'avif';
    }
    return undefined;
  }
  const head = ascii(b, 0, 4096).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (head.startsWith('<') && /<svg[\s>]/i.test(head)) return 'svg';
  return undefined;
}

export interface DecodeBudget {
  /** Rasterise SVG (in a child process, one at a time). Default false: SVG gets ERR_UNSUPPORTED_MEDIA. */
  allowSvg?: boolean;
  /** Time limit of one decode in ms (default 10 000): ERR_DECODE_TIMEOUT, and the work stops. */
  timeoutMs?: number;
  /** Decodes at once (default: the number of cores, at most 4, libuv's default pool). */
  maxConcurrent?: number;
  /** Decodes waiting for a slot before new ones are refused with ERR_QUEUE_FULL (default 256). */
  maxWaiting?: number;
}

/** Files larger than this are not read into memory (ERR_IMAGE_TOO_LARGE): no photo is this big. */
const MAX_FILE_BYTES = 256 * 2 ** 20;

/** An input file's bytes; a file that cannot be read is ERR_READ (retried on resume), not an invalid image. */
export async function readImageFile(file: string): Promise<Buffer> {
  let fh: fsp.FileHandle | undefined;
  try {
    // Non-blocking: a FIFO among the inputs must not hang the job.
    fh = await fsp.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile()) fail('ERR_READ', `cannot read ${file}: not a regular file`);
    if (st.size > MAX_FILE_BYTES) fail('ERR_IMAGE_TOO_LARGE', `${file} is ${st.size} bytes; image files over ${MAX_FILE_BYTES} bytes are not read`);
    return await fh.readFile();
  } catch (e) {
    if (e instanceof MobileNetError) throw e;
    return fail('ERR_READ', `cannot read ${file}: ${(e as Error).message}`, e);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** A counting semaphore with a bounded wait list; a freed slot passes to the oldest waiter (FIFO). */
export class Slots {
  active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(readonly size: number, private readonly maxWaiting: number) {}
  get queued(): number {
    return this.waiting.length;
  }
  async run<T>(work: () => Promise<T>, what: string): Promise<T> {
    if (this.active >= this.size) {
      if (this.waiting.length >= this.maxWaiting) fail('ERR_QUEUE_FULL', `${this.active} ${what} decodes are running and ${this.waiting.length} waiting; retry later`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    }
  }
}

const SVG_CHILD = path.join(__dirname, 'svg-child.js');

export class DecodeGuard {
  readonly allowSvg: boolean;
  readonly timeoutMs: number;
  private readonly raster: Slots;
  private readonly svg: Slots;

  constructor(budget: DecodeBudget = {}) {
    this.allowSvg = budget.allowSvg ?? false;
    this.timeoutMs = budget.timeoutMs ?? 10_000;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0)) fail('ERR_INVALID_ARGUMENT', `decode timeoutMs must be a positive number, got ${String(budget.timeoutMs)}`);
    const concurrent = budget.maxConcurrent ?? Math.max(1, Math.min(4, os.availableParallelism()));
    const waiting = budget.maxWaiting ?? 256;
    if (!(Number.isInteger(concurrent) && concurrent >= 1)) fail('ERR_INVALID_ARGUMENT', `maxConcurrent decodes must be a positive integer, got ${String(concurrent)}`);
    this.raster = new Slots(concurrent, waiting);
    this.svg = new Slots(1, Math.min(waiting, 8));
  }

  /** The accepted format of `bytes`, or ERR_UNSUPPORTED_MEDIA saying what is accepted. */
  admit(bytes: Uint8Array): ImageFormat {
    const format = sniffImageFormat(bytes);
    if (format === 'svg' && !this.allowSvg) fail('ERR_UNSUPPORTED_MEDIA', 'SVG images are not accepted (their render cost is unbounded); send a raster image (JPEG, PNG, WebP, GIF, TIFF or AVIF), or start the server with --allow-svg in a trusted setting');
    if (!format) fail('ERR_UNSUPPORTED_MEDIA', `the bytes are not a JPEG, PNG, WebP, GIF, TIFF or AVIF image (judged by their first bytes: ${Buffer.from(bytes.subarray(0, 8)).toString('hex') || 'empty'})`);
    return format;
  }

  /**
   * Runs `decode` on `bytes` within the budget: raster bytes as they are; SVG first rasterised to PNG
   * in a child process. `decode` gets the bytes and the time limit in seconds for sharp's timeout().
   */
  async decode<T>(bytes: Uint8Array, decode: (raster: Uint8Array, timeoutSeconds: number) => Promise<T>, maxPixels: number): Promise<T> {
    const format = this.admit(bytes);
    const seconds = Math.max(1, Math.ceil(this.timeoutMs / 1000));
    try {
      if (format !== 'svg') return await this.raster.run(() => decode(bytes, seconds), 'image');
      const png = await this.svg.run(() => rasteriseSvg(bytes, this.timeoutMs, maxPixels), 'SVG');
      return await this.raster.run(() => decode(png, seconds), 'image');
    } finally {
      this.scheduleTrim();
    }
  }

  private trimTimer: NodeJS.Timeout | undefined;
  private lastTrim = 0;

  /**
   * Once decodes have been idle for 2 s (at most once a minute): glibc keeps the memory of large
   * decodes in its arenas after they are freed; malloc_trim hands it back (docs/hostile-input.md).
   */
  private scheduleTrim(): void {
    if (this.raster.active > 0 || this.svg.active > 0 || this.trimTimer) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = undefined;
      if (this.raster.active > 0 || this.svg.active > 0 || Date.now() - this.lastTrim < 60_000) return;
      this.lastTrim = Date.now();
      try {
        native().trimMemory?.();
      } catch {
        /* no addon: nothing to trim */
      }
    }, 2000);
    this.trimTimer.unref();
  }

  /** Decodes running and waiting; saturated when every slot is busy and some wait. */
  saturation(): { active: number; waiting: number; svgActive: number; svgWaiting: number; saturated: boolean } {
    const s = { active: this.raster.active, waiting: this.raster.queued, svgActive: this.svg.active, svgWaiting: this.svg.queued };
    return { ...s, saturated: (s.active >= this.raster.size && s.waiting > 0) || s.svgWaiting > 0 };
  }
}

/** SVG → PNG in a child process killed (SIGKILL) at `timeoutMs`: the only way to stop librsvg mid-render. */
function rasteriseSvg(svg: Uint8Array, timeoutMs: number, maxPixels: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const child = spawn(process.execPath, [SVG_CHILD, String(maxPixels)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')).length > 4096 && (err = err.slice(-4096)));
    child.stdin.on('error', () => undefined); // a child that dies early closes the pipe
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new MobileNetError('ERR_INVALID_IMAGE', `cannot start the SVG rasteriser: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return reject(new MobileNetError('ERR_DECODE_TIMEOUT', `the SVG did not render within ${timeoutMs} ms; its renderer was stopped`));
      if (code !== 0) {
        const tooLarge = /pixel limit/i.test(err);
        return reject(new MobileNetError(tooLarge ? 'ERR_IMAGE_TOO_LARGE' : 'ERR_INVALID_IMAGE', `could not render the SVG: ${err.trim().split('\n').pop() ?? `exit ${code}`}`));
      }
      resolve(Buffer.concat(out));
    });
    child.stdin.end(Buffer.from(svg.buffer, svg.byteOffset, svg.byteLength));
  });
}
