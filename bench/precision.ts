/**
 * The precision axis: our fp32 / bf16 / int8 against onnxruntime-node fp32 on the same weights, in one
 * process and one run, plus the accuracy of each mode on the sample photos.
 *
 *   npm run bench:precision -- [--alpha 1] [--resolution 224] [--threads 2] [--quick] [--out file.json]
 *
 * Modes this CPU refuses (bf16 without AVX-512) are listed with the reason instead of a time.
 * Speed uses seeded random weights (speed does not depend on their values); accuracy uses the real
 * α=0.75 and α=0.25 TF.js models from $MOBILENET_DATA when present.
 */
import * as fs from 'fs';
import * as path from 'path';
import { load, type MobileNet } from '../lib';
import { readLabelledFolder } from '../lib/apps/accuracy';
import { prepareBatch } from '../lib/core/image';
import type { Precision } from '../lib/core/model';
import { native } from '../lib/core/native';
import { dataDir } from '../lib/apps/paper/results';
import { randomWeights } from '../lib/core/weights';
import type { ModelWeights } from '../lib/core/weights/types';
import { archOf, benchInput, median } from './common';

const PRECISIONS: Precision[] = ['fp32', 'bf16', 'int8'];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function time(fn: () => Promise<unknown>, minRuns: number, minMs: number): Promise<number> {
  await fn();
  await fn();
  const t: number[] = [];
  const start = performance.now();
  while (t.length < minRuns || (performance.now() - start < minMs && t.length < 500)) {
    const a = performance.now();
    await fn();
    t.push(performance.now() - a);
  }
  return median(t);
}

interface SpeedRow { engine: string; precision: Precision; batch1Ms?: number; batch32ImagesPerSecond?: number; unsupported?: string; note?: string }

async function speed(weights: ModelWeights, threads: number, quick: boolean): Promise<SpeedRow[]> {
  const R = weights.arch.resolution;
  const x1 = benchInput(1, R, 3);
  const x32 = benchInput(32, R, 5);
  const [runs, ms] = quick ? [5, 500] : [30, 3000];
  const rows: SpeedRow[] = [];
  for (const precision of PRECISIONS) {
    const why = native().info().precisionUnsupported?.[precision];
    if (why) {
      rows.push({ engine: 'mobilenet-native', precision, unsupported: why });
      continue;
    }
    const m = await load({ weights, threads, precision });
    const b1 = await time(() => m.infer(x1, [1, R, R, 3]), runs, ms);
    const b32 = await time(() => m.infer(x32, [32, R, R, 3]), quick ? 2 : 5, ms);
    rows.push({ engine: 'mobilenet-native', precision, batch1Ms: b1, batch32ImagesPerSecond: 32000 / b32, note: m.precisionNote || undefined });
    m.dispose();
  }
  const ort = await import('onnxruntime-node');
  const { exportOnnx, ONNX_INPUT } = await import('../lib/apps/export/onnx');
  const session = await ort.InferenceSession.create(exportOnnx(weights), {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const run = (x: Float32Array, n: number) => session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [n, R, R, 3]) });
  const b1 = await time(() => run(x1, 1), runs, ms);
  const b32 = await time(() => run(x32, 32), quick ? 2 : 5, ms);
  rows.push({ engine: 'onnxruntime-node', precision: 'fp32', batch1Ms: b1, batch32ImagesPerSecond: 32000 / b32 });
  await session.release();
  return rows;
}

interface AccuracyRow { model: string; precision: Precision; top1?: number; top5?: number; agreeWithFp32?: number; unsupported?: string }

async function accuracy(threads: number): Promise<AccuracyRow[]> {
  const data = dataDir();
  const sample = path.join(data, 'images', 'sample');
  if (!fs.existsSync(path.join(sample, 'labels.tsv'))) return [];
  const images = readLabelledFolder(sample);
  const x = await prepareBatch(images.map((i) => i.file), { resolution: 224 });
  const rows: AccuracyRow[] = [];
  for (const alpha of ['0.75', '0.25']) {
    const file = path.join(data, 'weights', 'tfjs-layers', `mobilenet_v1_${alpha}_224`, 'model.json');
    if (!fs.existsSync(file)) continue;
    let ref: number[] | undefined;
    for (const precision of PRECISIONS) {
      const why = native().info().precisionUnsupported?.[precision];
      if (why) {
        rows.push({ model: `α=${alpha}/224`, precision, unsupported: why });
        continue;
      }
      const m: MobileNet = await load({ weights: file, threads, precision });
      const p = await m.infer(x, [images.length, 224, 224, 3]);
      m.dispose();
      const ranked = images.map((_, i) => {
        const row = p.subarray(i * 1000, (i + 1) * 1000);
        return Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 5);
      });
      const top = ranked.map((r) => r[0]);
      ref ??= top;
      rows.push({
        model: `α=${alpha}/224`, precision,
        top1: top.filter((c, i) => c === images[i].classIndex).length / images.length,
        top5: ranked.filter((r, i) => r.includes(images[i].classIndex)).length / images.length,
        agreeWithFp32: top.filter((c, i) => c === ref![i]).length / images.length,
      });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const alpha = arg('alpha', 1);
  const resolution = arg('resolution', 224);
  const threads = arg('threads', 2);
  const quick = process.argv.includes('--quick');
  const info = native().info();
  const weights = randomWeights(archOf(alpha, resolution), 1);
  const speedRows = await speed(weights, threads, quick);
  const accuracyRows = await accuracy(threads);
  const ort = speedRows.find((r) => r.engine === 'onnxruntime-node')!;
  const lines = [
    `precision bench: α=${alpha}/${resolution}, ${threads} threads, oneDNN ${info.onednn} on ${info.isaName}`,
    '', 'engine            precision   batch-1 ms   ×ORT   batch-32 img/s   ×ORT',
    ...speedRows.map((r) => r.unsupported
      ? `${r.engine.padEnd(17)} ${r.precision.padEnd(9)}   refused: ${r.unsupported}`
      : `${r.engine.padEnd(17)} ${r.precision.padEnd(9)}   ${r.batch1Ms!.toFixed(2).padStart(10)}   ${(r.batch1Ms! / ort.batch1Ms!).toFixed(2).padStart(4)}   ${r.batch32ImagesPerSecond!.toFixed(1).padStart(14)}   ${(r.batch32ImagesPerSecond! / ort.batch32ImagesPerSecond!).toFixed(2).padStart(4)}`),
    '', 'model        precision   top-1    top-5    agree with fp32',
    ...accuracyRows.map((r) => r.unsupported
      ? `${r.model.padEnd(12)} ${r.precision.padEnd(9)}   refused`
      : `${r.model.padEnd(12)} ${r.precision.padEnd(9)}   ${(100 * r.top1!).toFixed(1).padStart(5)} %  ${(100 * r.top5!).toFixed(1).padStart(5)} %  ${(100 * r.agreeWithFp32!).toFixed(1)} %`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const outIndex = process.argv.indexOf('--out');
  if (outIndex >= 0) fs.writeFileSync(process.argv[outIndex + 1], JSON.stringify({ info, alpha, resolution, threads, speed: speedRows, accuracy: accuracyRows }, null, 1) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
