/**
 * `npm run bench:pipeline`: the whole job — image files in, labels out — as whole processes:
 * `mobilenet batch` against bench/peer-script.ts (sharp + onnxruntime-node), same photos, same
 * weights (α=0.75/224 TF.js; the peer runs our ONNX export of them), alternating rounds. Inputs:
 * 800 ImageNet-size photos (the 200 sample photos ×4) and 60 of them upscaled to 4000×3000 JPEG q90.
 *
 *   npm run bench:pipeline -- [--profile] [--accuracy] [--rounds 5] [--threads 2]
 *                             [--configs imagenet-fp32,imagenet-int8,large-fp32,large-int8] [--large 60]
 *
 * --profile: per-stage ms/image and cores (bench/pipeline-profile.ts) instead of the race.
 * --accuracy: top-1 of decode 'auto' vs 'full' on the 200 upscaled photos, and of TF.js (tfjs-wasm)
 * on the sample photos through the same preprocessing.
 * Writes bench/results/pipeline.md (profile: pipeline-profile.md).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evaluateAccuracy } from '../lib/apps/accuracy';
import { MobileNet } from '../lib/core/model';
import { arg, median, labelOf, preparePipelineData, ROOT, SAMPLE, SCRATCH, WEIGHTS, type PipelineData } from './pipeline-data';
import { formatRows, profileStages, profileWhole } from './pipeline-profile';

const RESULTS = path.join(ROOT, 'bench', 'results');
const CLI = path.join(ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');
const PEER = path.join(ROOT, 'dist', 'bench', 'peer-script.js');


interface Run {
  seconds: number;
  imagesPerSecond: number;
  top1: number;
  images: number;
}

/** Runs one whole process and reads the JSONL it wrote: wall time, img/s, top-1 against the photo labels. */
function runProcess(argv: string[], out: string, labels: Map<string, number>, env: NodeJS.ProcessEnv): Run {
  fs.rmSync(out, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${path.basename(argv[0])} failed (${r.status ?? r.signal}): ${r.stderr.toString().trim().split('\n').slice(-3).join(' | ')}`);
  const records = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file: string; top?: Array<{ classIndex: number }> });
  let hits = 0;
  for (const rec of records) if (rec.top?.[0]?.classIndex === labelOf(labels, rec.file)) hits++;
  fs.rmSync(out, { force: true });
  return { seconds, imagesPerSecond: records.length / seconds, top1: hits / records.length, images: records.length };
}

interface ConfigResult {
  name: string;
  ours: Run[];
  peer: Run[];
  /** Median over rounds of ours/peer img/s within the round. */
  ratio: number;
}

function race(name: string, dir: string, precision: string, d: PipelineData, rounds: number, threads: number): ConfigResult {
  const outOurs = path.join(SCRATCH, 'ours.jsonl');
  const outPeer = path.join(SCRATCH, 'peer.jsonl');
  const ours: Run[] = [];
  const peer: Run[] = [];
  const env = { ...process.env };
  const oursArgv = [CLI, 'batch', dir, '--out', outOurs, '--weights', path.join(WEIGHTS, 'model.json'), '--precision', precision, '--threads', String(threads), '--no-progress'];
  const peerArgv = [PEER, dir, d.onnx, outPeer, String(threads)];
  for (let i = 0; i <= rounds; i++) {
    const a = runProcess(oursArgv, outOurs, d.labels, env);
    const b = runProcess(peerArgv, outPeer, d.labels, env);
    if (i === 0) continue; // warm-up round: page cache, CPU clocks
    ours.push(a);
    peer.push(b);
    console.log(`  ${name} round ${i}: ours ${a.imagesPerSecond.toFixed(1)} img/s (top-1 ${(100 * a.top1).toFixed(1)} %), peer ${b.imagesPerSecond.toFixed(1)} img/s (top-1 ${(100 * b.top1).toFixed(1)} %), ratio ${(a.imagesPerSecond / b.imagesPerSecond).toFixed(2)}`);
  }
  return { name, ours, peer, ratio: median(ours.map((o, i) => o.imagesPerSecond / peer[i].imagesPerSecond)) };
}

async function accuracy(d: PipelineData): Promise<string[]> {
  const lines: string[] = [];
  const weights = path.join(WEIGHTS, 'model.json');
  for (const decode of ['auto', 'full'] as const) {
    const m = await MobileNet.load({ weights, decode });
    try {
      const big = await evaluateAccuracy(m, d.largeAll);
      lines.push(`4000×3000 upscaled sample photos, decode '${decode}': top-1 ${(100 * big.top1).toFixed(1)} % (${big.correct1}/${big.count}), top-5 ${(100 * big.top5).toFixed(1)} %`);
      if (decode === 'auto') {
        const small = await evaluateAccuracy(m, SAMPLE);
        lines.push(`original sample photos (never shrunk), ours: top-1 ${(100 * small.top1).toFixed(1)} % (${small.correct1}/${small.count})`);
      }
    } finally {
      m.dispose();
    }
  }
  lines.push(await tfjsTop1());
  return lines;
}

/** TF.js (wasm backend) on the sample photos, fed the very same preprocessed tensors. */
async function tfjsTop1(): Promise<string> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { loadWeights } = await import('../lib/core/weights');
  const { buildTfjsModel } = await import('./tfjs-model');
  const { prepareImage } = await import('../lib/core/image');
  const { readLabelledFolder } = await import('../lib/apps/accuracy');
  const warn = console.warn;
  console.warn = () => undefined;
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
  await tf.setBackend('wasm');
  await tf.ready();
  console.warn = warn;
  const model = buildTfjsModel(tf, await loadWeights(path.join(WEIGHTS, 'model.json')));
  let hits = 0;
  const images = readLabelledFolder(SAMPLE);
  for (const img of images) {
    const x = await prepareImage(img.file, { resolution: 224 });
    const p = tf.tidy(() => (model.predict(tf.tensor4d(x, [1, 224, 224, 3])) as import('@tensorflow/tfjs').Tensor).argMax(1).dataSync()[0]);
    if (p === img.classIndex) hits++;
  }
  return `original sample photos, TF.js (wasm) on the same tensors: top-1 ${(100 * hits / images.length).toFixed(1)} % (${hits}/${images.length})`;
}

async function main(): Promise<void> {
  const threads = Number(arg('threads') ?? os.availableParallelism());
  const rounds = Number(arg('rounds') ?? 5);
  const largeCount = Number(arg('large') ?? 60);
  const cpu = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical CPUs, load ${os.loadavg()[0].toFixed(1)}`;
  const d = await preparePipelineData(largeCount, (m) => console.log(m));
  const lines: string[] = [`${new Date().toISOString()} · ${cpu} · ${threads} threads`, ''];
  console.log(lines[0]);
  if (process.argv.includes('--profile')) {
    const weights = path.join(WEIGHTS, 'model.json');
    const m = await MobileNet.load({ weights, threads });
    try {
      const photos = fs.readdirSync(d.imagenet).slice(0, 200).map((f) => path.join(d.imagenet, f));
      const big = fs.readdirSync(d.large).slice(0, 30).map((f) => path.join(d.large, f));
      const rows = [...(await profileStages(photos, m, 'imagenet')), ...(await profileStages(big, m, '4000×3000'))];
      const table = formatRows(rows);
      console.log(table);
      const whole = [await profileWhole(d.imagenet, m, 'imagenet (800)', 4), await profileWhole(d.large, m, `4000×3000 (${largeCount})`, 4)];
      console.log(whole.join('\n'));
      lines.push('```', table, '', ...whole, '```', '', `Command: npm run bench:pipeline -- --profile --threads ${threads}`);
    } finally {
      m.dispose();
    }
    fs.writeFileSync(path.join(RESULTS, 'pipeline-profile.md'), `# bench:pipeline --profile\n\n${lines.join('\n')}\n`);
    return;
  }
  if (process.argv.includes('--accuracy')) {
    const acc = await accuracy(d);
    console.log(acc.join('\n'));
    lines.push('## Top-1', '', ...acc.map((l) => `- ${l}`), '');
  }
  const configs = (arg('configs') ?? 'imagenet-fp32,imagenet-int8,large-fp32,large-int8').split(',');
  const results: ConfigResult[] = [];
  for (const c of configs) {
    const [set, precision] = c.split('-');
    const dir = set === 'large' ? d.large : d.imagenet;
    results.push(race(c, dir, precision, d, rounds, threads));
  }
  const fmt = (runs: Run[], f: (r: Run) => number, digits = 1) => `${median(runs.map(f)).toFixed(digits)} (${Math.min(...runs.map(f)).toFixed(digits)}–${Math.max(...runs.map(f)).toFixed(digits)})`;
  lines.push('## Whole processes, alternating rounds', '', `Median (min–max) of ${rounds} rounds after a warm-up round; ratio: median of the per-round ratios.`, '',
    '| config | images | ours img/s | peer img/s | ours / peer | ours top-1 % | peer top-1 % |', '|---|---|---|---|---|---|---|');
  for (const r of results) {
    lines.push(`| ${r.name} | ${r.ours[0]?.images ?? 0} | ${fmt(r.ours, (x) => x.imagesPerSecond)} | ${fmt(r.peer, (x) => x.imagesPerSecond)} | ${r.ratio.toFixed(2)} | ${(100 * r.ours[0].top1).toFixed(1)} | ${(100 * r.peer[0].top1).toFixed(1)} |`);
  }
  const i8 = results.find((r) => r.name === 'imagenet-int8');
  const f32 = results.find((r) => r.name === 'imagenet-fp32');
  if (i8 && f32) lines.push('', `int8 ours vs the fp32 peer on ImageNet-size photos: ${(median(i8.ours.map((x) => x.imagesPerSecond)) / median(f32.peer.map((x) => x.imagesPerSecond))).toFixed(2)}× (medians of different rounds)`);
  lines.push('', `Command: npm run bench:pipeline -- --rounds ${rounds} --threads ${threads} --configs ${configs.join(',')}`);
  console.log(lines.join('\n'));
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'pipeline.md'), `# bench:pipeline\n\n${lines.join('\n')}\n`);
}

main().catch((e) => {
  console.error((e as Error).stack ?? e);
  process.exit(1);
});
