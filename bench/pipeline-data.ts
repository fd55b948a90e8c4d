/**
 * bench:pipeline's inputs, made once under scratch/pipeline (git-ignored): ImageNet-size photos (the
 * 200 sample photos, linked 4 times), the same photos upscaled to 4000×3000 JPEG q90 (with their
 * labels.tsv, for top-1), and our ONNX export of the weights for the peer script.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { exportOnnx } from '../lib/apps/export/onnx';
import { loadWeights } from '../lib/core/weights';
import { dataDir } from '../lib/apps/paper/results';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SCRATCH = path.join(ROOT, 'scratch', 'pipeline');
export const SAMPLE = path.join(dataDir(), 'images', 'sample');
export const WEIGHTS = path.join(dataDir(), 'weights', 'tfjs-layers', 'mobilenet_v1_0.75_224');

/** `--name value` from the command line, or undefined. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The middle value; the mean of the two middle ones for an even count. */
export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface PipelineData {
  /** 800 links to the 200 sample photos (4 copies). */
  imagenet: string;
  /** All 200 photos at 4000×3000 q90, with labels.tsv. */
  largeAll: string;
  /** The first `largeCount` of them (links), the timed set. */
  large: string;
  onnx: string;
  /** file name → ImageNet class index (the names of the links keep the photo's name after a 'kN_' prefix). */
  labels: Map<string, number>;
}

function readLabels(): Map<string, number> {
  const rows = fs.readFileSync(path.join(SAMPLE, 'labels.tsv'), 'utf8').trim().split('\n').slice(1);
  return new Map(rows.map((r) => {
    const [file, cls] = r.split('\t');
    return [file, Number(cls)];
  }));
}

export function labelOf(labels: Map<string, number>, file: string): number | undefined {
  return labels.get(path.basename(file).replace(/^k\d+_/, ''));
}

function linkAll(dir: string, sources: string[], copies: number): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length === sources.length * copies) return;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (let k = 0; k < copies; k++) for (const s of sources) fs.symlinkSync(s, path.join(dir, `k${k}_${path.basename(s)}`));
}

export async function preparePipelineData(largeCount: number, log: (m: string) => void): Promise<PipelineData> {
  const labels = readLabels();
  const photos = [...labels.keys()].map((f) => path.join(SAMPLE, f));
  const imagenet = path.join(SCRATCH, 'imagenet');
  linkAll(imagenet, photos, 4);
  const largeAll = path.join(SCRATCH, 'large-all');
  fs.mkdirSync(largeAll, { recursive: true });
  let made = 0;
  for (const p of photos) {
    const out = path.join(largeAll, path.basename(p));
    if (fs.existsSync(out)) continue;
    // autoOrient first, so the upscaled copy shows what the original shows, without EXIF.
    const buf = await sharp(p).autoOrient().resize(4000, 3000, { fit: 'fill', kernel: 'lanczos3' }).jpeg({ quality: 90 }).toBuffer();
    fs.writeFileSync(out + '.tmp', buf);
    fs.renameSync(out + '.tmp', out);
    made++;
  }
  if (made > 0) log(`made ${made} photos of 4000×3000 in ${path.relative(ROOT, largeAll)}`);
  fs.copyFileSync(path.join(SAMPLE, 'labels.tsv'), path.join(largeAll, 'labels.tsv'));
  const large = path.join(SCRATCH, `large-${largeCount}`);
  linkAll(large, photos.slice(0, largeCount).map((p) => path.join(largeAll, path.basename(p))), 1);
  const onnx = path.join(SCRATCH, 'mobilenet_v1_0.75_224.onnx');
  if (!fs.existsSync(onnx)) fs.writeFileSync(onnx, exportOnnx(await loadWeights(path.join(WEIGHTS, 'model.json'))));
  return { imagenet, largeAll, large, onnx, labels };
}
