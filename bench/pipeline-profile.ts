/**
 * `npm run bench:pipeline -- --profile`: where `mobilenet batch`'s time goes, stage by stage. Each
 * stage runs alone over the same photos, one image at a time (inference: batches of 16, as batch
 * does), and reports ms per image (wall) and cores used (process CPU time / wall time) — then the
 * whole runBatch in this process, with how busy the JavaScript thread was.
 */
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import sharp from 'sharp';
import { runBatch } from '../lib/apps/batch';
import { prepareImage, resizeBilinear } from '../lib/core/image';
import { jpegInto, jpegSize, resizeIntoNativeSync, type StagePixels } from '../lib/core/image-stage';
import { topK } from '../lib/core/labels';
import { MobileNet } from '../lib/core/model';

export interface StageRow {
  stage: string;
  msPerImage: number;
  cores: number;
}

async function timeStage(stage: string, n: number, body: () => Promise<void>): Promise<StageRow> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { stage, msPerImage: wall / n, cores: (cpu.user + cpu.system) / 1000 / wall };
}

const LUT = (() => {
  const k = Math.fround(2 / 255);
  return Float32Array.from({ length: 256 }, (_, x) => Math.fround(Math.fround(x * k) - 1));
})();

/** Stage rows for `files` (decoded one at a time), with `model` for inference. */
export async function profileStages(files: string[], model: MobileNet, label: string): Promise<StageRow[]> {
  const R = model.arch.resolution;
  const size = R * R * 3;
  const n = files.length;
  const rows: StageRow[] = [];
  const bytes: Buffer[] = [];
  rows.push(await timeStage('read (fs.readFile)', n, async () => {
    for (const f of files) bytes.push(await fsp.readFile(f));
  }));
  rows.push(await timeStage('decode (sharp → raw, no orientation/colour)', n, async () => {
    for (const b of bytes) await sharp(b).raw().toBuffer();
  }));
  const decoded: StagePixels[] = [];
  const colour = await timeStage('decode + colour/EXIF (autoOrient, sRGB, no alpha)', n, async () => {
    for (const b of bytes) {
      const { data, info } = await sharp(b).autoOrient().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
      decoded.push({ data, width: info.width, height: info.height, channels: info.channels as 1 | 3 | 4 });
    }
  });
  rows.push({ stage: '  colour/EXIF alone (difference)', msPerImage: colour.msPerImage - rows[1].msPerImage, cores: NaN }, colour);
  rows.push(await timeStage("decode, shrink-on-load to 2R (large JPEGs: decode 'auto')", n, async () => {
    for (const b of bytes) await sharp(b).autoOrient().toColourspace('srgb').removeAlpha().resize(2 * R, 2 * R, { fit: 'outside', kernel: 'linear' }).raw().toBuffer();
  }));
  const out = new Float32Array(size);
  const grey = decoded.map((p) => (p.channels === 3 ? p.data : new Uint8Array(p.width * p.height * 3)));
  const resize = await timeStage('resize (JS resizeBilinear, uint8 in)', n, async () => {
    decoded.forEach((p, i) => resizeBilinear(grey[i], p.height, p.width, 3, R, R, true, { out }));
  });
  const normalise = await timeStage('resize + normalise (JS, the old path)', n, async () => {
    decoded.forEach((p, i) => resizeBilinear(grey[i], p.height, p.width, 3, R, R, true, { out, lut: LUT }));
  });
  rows.push(resize, { stage: '  normalise alone (difference)', msPerImage: normalise.msPerImage - resize.msPerImage, cores: NaN }, normalise);
  rows.push(await timeStage('resize + normalise (C++, native/image/resize.cc)', n, async () => {
    for (const p of decoded) resizeIntoNativeSync(p, R, 'tfjs', 0.875, out, 0);
  }));
  let taken = 0;
  const fast = await timeStage("JPEG fast path: libjpeg decode + C++ resize in one job (decode 'auto')", n, async () => {
    for (const b of bytes) {
      const jpeg = jpegSize(b);
      if (jpeg && (await jpegInto(b, jpeg, { resolution: R, preprocess: 'tfjs', decode: 'auto', maxPixels: 1e9 }, out, 0)) === '') taken++;
    }
  });
  rows.push({ ...fast, stage: `${fast.stage}: took ${taken} of ${n}` });
  const batch = new Float32Array(16 * size);
  rows.push(await timeStage('copy into the batch buffer (Float32Array.set)', n, async () => {
    for (let i = 0; i < n; i++) batch.set(out, (i % 16) * size);
  }));
  let probs: Float32Array = new Float32Array(0);
  rows.push(await timeStage(`inference (batches of 16, ${model.precision})`, n, async () => {
    for (let i = 0; i < n; i += 16) probs = await model.infer(batch, [16, R, R, 3]);
  }));
  const lines: string[] = [];
  rows.push(await timeStage('labels + JSON (topK 5, JSON.stringify)', n, async () => {
    for (let i = 0; i < n; i++) lines.push(JSON.stringify({ file: files[i], top: topK(probs, (i % 16) * 1000, 1000, 5) }) + '\n');
  }));
  const tmp = path.join(os.tmpdir(), `pipeline-profile-${process.pid}.jsonl`);
  const fd = fs.openSync(tmp, 'a');
  rows.push(await timeStage('write (one write(2) per record)', n, async () => {
    for (const l of lines) fs.writeSync(fd, l);
  }));
  fs.closeSync(fd);
  fs.rmSync(tmp, { force: true });
  rows.push(await timeStage("prepareImage (decode 'auto' + C++ resize), one at a time", n, async () => {
    for (const f of files) await prepareImage(f, { resolution: R });
  }));
  rows.push(await timeStage("prepareImage (decode 'full' + C++ resize), one at a time", n, async () => {
    for (const f of files) await prepareImage(f, { resolution: R, decode: 'full' });
  }));
  return rows.map((r) => ({ ...r, stage: `${label}: ${r.stage}` }));
}

/** The whole runBatch over `dir` in this process: img/s, cores used, JS-thread utilisation. */
export async function profileWhole(dir: string, model: MobileNet, label: string, concurrency: number): Promise<string> {
  const out = path.join(os.tmpdir(), `pipeline-whole-${process.pid}.jsonl`);
  fs.rmSync(out, { force: true });
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = await runBatch({ input: dir, out, model, concurrency });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  fs.rmSync(out, { force: true });
  return `${label}: runBatch ${s.processed} images, ${(s.processed / (wall / 1000)).toFixed(1)} img/s, ${((cpu.user + cpu.system) / 1000 / wall).toFixed(2)} cores, JS thread busy ${(elu.utilization * 100).toFixed(0)} %`;
}

export function formatRows(rows: StageRow[]): string {
  const w = Math.max(...rows.map((r) => r.stage.length));
  return rows.map((r) => `${r.stage.padEnd(w)}  ${r.msPerImage.toFixed(3).padStart(8)} ms/img  ${Number.isNaN(r.cores) ? '     ' : r.cores.toFixed(2).padStart(5)} cores`).join('\n');
}
