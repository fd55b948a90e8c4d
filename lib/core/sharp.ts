/**
 * sharp, the image decoder, kept apart from optional.ts: its type differs between module systems
 * (CommonJS default import or `export =`), so no declaration that the package's entries reach may
 * name it: only image.ts imports this, and exports none of its types.
 */
import { MobileNetError } from './errors';

type Sharp = typeof import('sharp').default;
let sharpModule: Sharp | undefined;
let threadsWanted: number | undefined;

/**
 * libvips threads per image, applied when sharp loads: loading it costs ~55 ms, which a process
 * whose images all take the JPEG fast path (image-stage.ts) never pays.
 */
export function setSharpConcurrency(threads: number): void {
  threadsWanted = threads;
  sharpModule?.concurrency(threads);
}

/**
 * sharp, loaded on the first decode: it needs its platform binary (@img/sharp-linux-x64), which is
 * sharp's own optional dependency, so an --omit=optional install can still load models and run
 * raw pixels and tensors.
 */
export function loadSharp(): Sharp {
  if (sharpModule) return sharpModule;
  try {
    const mod = require('sharp') as Sharp & { default?: Sharp }; // eslint-disable-line @typescript-eslint/no-require-imports
    sharpModule = mod.default ?? mod;  // CommonJS: module.exports = Sharp
    if (threadsWanted !== undefined) sharpModule.concurrency(threadsWanted);
    return sharpModule;
  } catch (e) {
    throw new MobileNetError(
      'ERR_UNSUPPORTED',
      `decoding encoded images needs sharp, which cannot load here (${(e as Error).message.split('\n')[0]}). Its binaries are its own optional dependencies, left out by --omit=optional: npm install --include=optional sharp. Raw pixels ({ data, width, height }) and Float32Array tensors need no decoder.`,
      { cause: e },
    );
  }
}
