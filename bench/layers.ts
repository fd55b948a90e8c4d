/**
 * `npm run bench:layers`: our per-layer times beside onnxruntime-node's per-node times, same weights,
 * same batch, in one process — where each engine spends its time, layer by layer.
 *
 *   node dist/bench/layers.js [--alpha 1] [--resolution 224] [--batch 1] [--runs 50] [--threads 2]
 *
 * Ours: model.profile() (each oneDNN primitive timed alone, median over runs). onnxruntime: its own
 * profiler's kernel times (median over the same number of runs). Ours is profiled before and after
 * onnxruntime and each layer takes the mean of the two medians, so a load change during the run does
 * not land on one engine only. Whole-pass times are printed too (per-layer sums leave out what happens
 * between kernels): our infer() and session.run() of a second onnxruntime session without the
 * profiler, both awaited from JavaScript, in alternating blocks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { load } from '../lib';
import { exportOnnx, ONNX_INPUT } from '../lib/apps/export/onnx';
import { randomWeights } from '../lib/core/weights';
import { archOf, benchInput, median } from './common';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} takes a positive number, got '${process.argv[i + 1]}'`);
  return v;
}

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
}

async function main(): Promise<void> {
  const alpha = arg('alpha', 1), resolution = arg('resolution', 224), batch = arg('batch', 1);
  const runs = arg('runs', 50), threads = arg('threads', 2);
  const weights = randomWeights(archOf(alpha, resolution), 1);
  const x = benchInput(batch, resolution);

  const model = await load({ weights, threads });
  const before = await model.profile({ batch, runs });

  const ort = await import('onnxruntime-node');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-layers-'));
  const session = await ort.InferenceSession.create(exportOnnx(weights), {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
    enableProfiling: true, profileFilePrefix: path.join(dir, 'ort'),
  });
  const feed = { [ONNX_INPUT]: new ort.Tensor('float32', x, [batch, resolution, resolution, 3]) };
  await session.run(feed);
  for (let i = 0; i < runs; i++) await session.run(feed);
  session.endProfiling();
  await session.release();
  const traceFile = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith('.json'));
  if (!traceFile) throw new Error(`onnxruntime wrote no profile into ${dir}`);
  const events = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as TraceEvent[];
  fs.rmSync(dir, { recursive: true, force: true });

  const after = await model.profile({ batch, runs });
  // The profiler slows session.run (batch 1, alternating blocks in one process: α=0.5/224 1.17–1.18×,
  // α=1/224 1.02× the time of a session without it), so the whole pass is timed on a session without it.
  const plain = await ort.InferenceSession.create(exportOnnx(weights), {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const shape = [batch, resolution, resolution, 3];
  const oursWhole: number[] = [], ortWhole: number[] = [];
  // Both engines' idle threads spin for a while after a run (OpenMP's and onnxruntime's pools) and
  // would take a core from the other engine's next block: without the pause and the untimed first
  // call, α=0.5/224 batch 1 timed our infer() at 2.64 ms where its native forward took 1.94.
  const timeBlock = async (into: number[], fn: () => Promise<unknown>) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fn();
    for (let i = 0; i < Math.ceil(runs / 5); i++) {
      const t = performance.now();
      await fn();
      into.push(performance.now() - t);
    }
  };
  await model.infer(x, shape);
  await plain.run(feed);
  for (let block = 0; block < 5; block++) {
    await timeBlock(oursWhole, () => model.infer(x, shape));
    await timeBlock(ortWhole, () => plain.run(feed));
  }
  await plain.release();
  model.dispose();

  // onnxruntime names its fused NCHWc nodes "<our node>/…"; the rest (layout changes, flatten) have names of their own.
  const perNode = new Map<string, number[]>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || e.dur === undefined) continue;
    const node = e.name.slice(0, -'_kernel_time'.length).split('/')[0];
    perNode.set(node, [...(perNode.get(node) ?? []), e.dur / 1000]);
  }
  // Skip the warm-up run's events: keep the last `runs` of each node.
  const ortMs = new Map([...perNode].map(([k, v]) => [k, median(v.slice(-runs))]));
  const ortAlias: Record<string, string> = { avg_pool: 'pooled_nchwc' };

  console.log(`α=${alpha}/${resolution}, batch ${batch}, ${threads} threads, median of ${runs} runs; ${os.cpus()[0]?.model ?? ''}\n`);
  console.log('| layer | mult-adds | ours ms | onnxruntime ms | ours / ort | our kernel |');
  console.log('|---|---:|---:|---:|---:|---|');
  let oursSum = 0, ortSum = 0;
  const used = new Set<string>();
  before.layers.forEach((l, i) => {
    const ours = (l.ms + after.layers[i].ms) / 2;
    const key = ortMs.has(l.name) ? l.name : ortAlias[l.name];
    const theirs = key ? ortMs.get(key) : undefined;
    if (key) used.add(key);
    oursSum += ours;
    ortSum += theirs ?? 0;
    console.log(`| ${l.name} | ${l.macs.toLocaleString('en-US')} | ${ours.toFixed(3)} | ${theirs?.toFixed(3) ?? '–'} | ${theirs ? (ours / theirs).toFixed(2) : '–'} | ${l.kernel} |`);
  });
  for (const [k, v] of ortMs) {
    if (used.has(k)) continue;
    ortSum += v;
    console.log(`| (onnxruntime) ${k} | | – | ${v.toFixed(3)} | – | |`);
  }
  const forward = (before.forwardMs + after.forwardMs) / 2;
  console.log(`\nSum of layers: ours ${oursSum.toFixed(3)} ms, onnxruntime ${ortSum.toFixed(3)} ms (${(oursSum / ortSum).toFixed(2)}×).`);
  console.log(`Whole pass, median: ours ${median(oursWhole).toFixed(3)} ms (infer(); native forward alone ${forward.toFixed(3)} ms), ` +
    `onnxruntime ${median(ortWhole).toFixed(3)} ms (session.run, no profiler) → ${(median(oursWhole) / median(ortWhole)).toFixed(2)}×.`);
}

main().catch((e) => {
  console.error((e as Error).stack ?? e);
  process.exitCode = 1;
});
