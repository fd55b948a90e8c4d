/**
 * `mobilenet quantize --weights W --calibrate <image dir> --out <file>`: runs the model in fp32 over
 * the images, records every conv layer's largest output and saves them as an INT8 calibration file
 * (format in lib/core/calibration.ts) for `load({ precision: 'int8', calibration: file })`.
 */
import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { makeCalibration, saveCalibration, fail, type Preprocess, MobileNet, loadWeights } from '../../../core';
import { reportError } from '../main';
import { parseNumberOption, parsePreprocess } from './classify';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** The image files directly inside `dir`, sorted so that a run is reproducible. */
export function listImages(dir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (e) {
    return fail('ERR_INVALID_ARGUMENT', `--calibrate expects a directory of images, but ${dir} cannot be read: ${(e as Error).message}`, e);
  }
  const files = entries.filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).sort().map((f) => path.join(dir, f));
  if (files.length === 0) fail('ERR_INVALID_ARGUMENT', `--calibrate directory ${dir} holds no images (${[...IMAGE_EXTENSIONS].join(', ')})`);
  return files;
}

export interface QuantizeOptions {
  weights: string;
  calibrate: string;
  out: string;
  resolution?: number;
  preprocess?: Preprocess;
  limit?: number;
  threads?: number;
}

/** Calibrates and writes the file; returns the number of images used. */
export async function quantize(o: QuantizeOptions, onProgress?: (done: number, total: number) => void): Promise<number> {
  const files = listImages(o.calibrate).slice(0, o.limit);
  const loaded = await loadWeights(o.weights);
  const weights = o.resolution === undefined ? loaded : { ...loaded, arch: { ...loaded.arch, resolution: o.resolution } };
  const model = await MobileNet.load({ weights, threads: o.threads, collectActivationStats: true, maxBatch: 8, preprocess: o.preprocess });
  try {
    const R = model.arch.resolution;
    const chunk = 8;
    for (let i = 0; i < files.length; i += chunk) {
      const part = files.slice(i, i + chunk);
      const x = await model.prepare(part);
      await model.infer(x, [part.length, R, R, 3], { output: 'embedding' });
      onProgress?.(i + part.length, files.length);
    }
    saveCalibration(o.out, makeCalibration(weights, model.activationMaxima(), files.length, o.calibrate));
  } finally {
    model.dispose();
  }
  return files.length;
}

export function register(program: Command): void {
  program
    .command('quantize')
    .description('measure INT8 activation ranges on a folder of images and save them as a calibration file')
    .requiredOption('--weights <path>', 'weight file or directory (TF.js model.json, TF-slim .pb, .safetensors)')
    .requiredOption('--calibrate <dir>', 'directory of representative images (a few hundred is plenty)')
    .requiredOption('--out <file>', 'calibration file to write (JSON)')
    .option('--resolution <r>', 'input resolution the int8 model will run at (default: the weights\')', parseNumberOption('resolution', true))
    .option('--preprocess <mode>', "'tfjs' or 'center-crop', as used at inference", parsePreprocess)
    .option('--limit <n>', 'use at most n images', parseNumberOption('limit', true))
    .option('--threads <n>', 'inference threads (default: all cores)', parseNumberOption('threads', true))
    .action(async (opts: QuantizeOptions) => {
      try {
        const n = await quantize(opts);
        process.stdout.write(`calibrated on ${n} images → ${opts.out}\n`);
      } catch (e) {
        reportError(e);
      }
    });
}
