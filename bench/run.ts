/**
 * `npm run bench`: our engine, onnxruntime-node (on our ONNX export of the same weights), TF.js wasm and
 * TF.js CPU (batch 1 only), each configuration × engine in its own child process so RSS is separable,
 * plus oneDNN's sgemm peak measured in the same run. Writes bench/results/latest.{json,md} and latency.svg
 * (partial.* for a run narrower than the full grid with every engine).
 *
 *   node dist/bench/run.js [--quick] [--alpha 1,0.5] [--resolution 224] [--engines a,b] [--threads 2] [--rounds 3] [--no-precision]
 *
 * Our engine and onnxruntime run `--rounds` times each per configuration, alternating, and report the
 * median round: on a shared machine one sequential pair of runs can swing a ratio by ±20 %. Their
 * ratios are the median of the per-round ratios (each round's two runs are back to back). Then the
 * precision axis (bench/precision.ts): our fp32/bf16/int8 against onnxruntime fp32, and each mode's
 * accuracy on the sample photos.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ENGINES, macsOf, median, type ChildArgs, type ChildResult, type EngineName } from './common';
import { markdown, peakGflops, svgChart } from './report';

export interface EngineResult extends Omit<ChildResult, 'probabilities'> {
  maxProbDiff?: number;
}

export interface ConfigResult {
  alpha: number;
  resolution: number;
  macs: number;
  engines: EngineResult[];
  ratios: { batch1VsOrt?: number; batch32VsOrt?: number; wasmVsOurs?: number; concurrentVsBatch32?: number };
}

export interface BenchResults {
  date: string;
  machine: string;
  threads: number;
  /** Alternating runs of our engine and onnxruntime per configuration; each reports its median. */
  rounds?: number;
  seed: number;
  quick: boolean;
  sgemm: { gflops: number; n: number; threads: number };
  /** The FMA-issue limit (bench/fma_peak.cc): the denominator of "% of peak". Absent in results older than it. */
  fma?: { gflops: number; isa: string; threads: number };
  configs: ConfigResult[];
  /** The precision axis (bench/precision.ts, α=1/224): fp32/bf16/int8 vs onnxruntime fp32, and accuracy per mode. */
  precision?: { text: string; data: unknown };
  failures: string[];
}

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function list(name: string, fallback: number[]): number[] {
  const v = arg(name);
  if (!v) return fallback;
  const out = v.split(',').map(Number);
  if (out.some((x) => !Number.isFinite(x))) throw new Error(`--${name} takes comma-separated numbers, got '${v}'`);
  return out;
}

/** Builds (once) and runs a probe: a standalone C++ program (bench/<name>.cc), linked against the same libdnnl. */
function probe<T>(name: string, threads: number, seconds: number): T {
  const exe = path.join(ROOT, 'scratch', name);
  const src = path.join(ROOT, 'bench', `${name}.cc`);
  if (!fs.existsSync(exe) || fs.statSync(exe).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(path.dirname(exe), { recursive: true });
    execFileSync('g++', ['-O2', '-fopenmp', src, '-ldnnl', '-o', exe], { stdio: 'inherit' });
  }
  const out = execFileSync(exe, [String(seconds)], { env: { ...process.env, OMP_NUM_THREADS: String(threads) } }).toString();
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}


/** Per metric, the median over rounds of the same engine (timings, throughputs, load); RSS: the largest. */
function medianRound(rounds: ChildResult[]): ChildResult {
  if (rounds.length === 1) return rounds[0];
  const byB1 = [...rounds].sort((a, b) => (a.batch1?.median ?? 0) - (b.batch1?.median ?? 0));
  const out: ChildResult = { ...byB1[(byB1.length - 1) >> 1] };
  out.loadMs = median(rounds.map((r) => r.loadMs));
  out.rssPeakMB = Math.max(...rounds.map((r) => r.rssPeakMB));
  if (rounds.every((r) => r.batch32)) {
    const byB32 = [...rounds].sort((a, b) => a.batch32!.imagesPerSecond - b.batch32!.imagesPerSecond);
    out.batch32 = byB32[(byB32.length - 1) >> 1].batch32;
  }
  if (rounds.every((r) => r.concurrent64)) {
    const byC = [...rounds].sort((a, b) => a.concurrent64!.imagesPerSecond - b.concurrent64!.imagesPerSecond);
    out.concurrent64 = byC[(byC.length - 1) >> 1].concurrent64;
  }
  out.note = [out.note, `median of ${rounds.length} alternating rounds`].filter(Boolean).join('; ');
  return out;
}

function runChild(a: ChildArgs): ChildResult {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'engine.js'), JSON.stringify(a)], {
    env: { ...process.env, OMP_NUM_THREADS: String(a.threads) }, maxBuffer: 64 << 20, timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`${a.engine} α=${a.alpha}/${a.resolution} failed (${r.status ?? r.signal}): ${r.stderr.toString().trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const threads = Number(arg('threads') ?? 2);
  const seed = 1;
  let pairs: Array<[number, number]> = [];
  const alphas = list('alpha', [1, 0.75, 0.5, 0.25]);
  const resolutions = list('resolution', [224, 192, 160, 128]);
  if (quick && !arg('alpha') && !arg('resolution')) pairs = [[1, 224], [0.25, 128]];
  else for (const a of alphas) for (const r of resolutions) pairs.push([a, r]);
  const engines = (arg('engines')?.split(',') ?? [...ENGINES]) as EngineName[];
  const rounds = Number(arg('rounds') ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a positive integer, got '${arg('rounds')}'`);
  const repeated = (e: EngineName) => e === 'mobilenet-native' || e === 'onnxruntime';
  for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e}; known: ${ENGINES.join(', ')}`);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const results: BenchResults = {
    date: new Date().toISOString(), machine: `${cpu}, ${os.cpus().length} logical CPUs, load ${os.loadavg()[0].toFixed(1)}`,
    threads, rounds, seed, quick, sgemm: probe('sgemm_peak', threads, quick ? 2 : 4), fma: probe('fma_peak', threads, quick ? 1 : 2), configs: [], failures: [],
  };
  console.log(`FMA-issue peak (${results.fma!.isa}, ${threads} threads): ${results.fma!.gflops.toFixed(1)} GFLOP/s · oneDNN sgemm: ${results.sgemm.gflops.toFixed(1)} GFLOP/s (${((results.sgemm.gflops / peakGflops(results)) * 100).toFixed(0)} % of peak)`);

  for (const [alpha, resolution] of pairs) {
    const macs = macsOf(alpha, resolution);
    const config: ConfigResult = { alpha, resolution, macs, engines: [], ratios: {} };
    let ours: number[] | undefined;
    // Rounds of the head-to-head engines, alternating so that load changes hit both alike.
    const done = new Map<EngineName, ChildResult[]>();
    const failed = new Map<EngineName, string>();
    for (let round = 0; round < rounds; round++) {
      for (const engine of engines.filter(repeated)) {
        if (failed.has(engine)) continue;
        try {
          const r = runChild({ engine, alpha, resolution, seed, threads, quick, checkImages: 2 });
          done.set(engine, [...(done.get(engine) ?? []), r]);
        } catch (e) {
          failed.set(engine, (e as Error).message);
        }
      }
    }
    for (const engine of engines) {
      try {
        if (failed.has(engine)) throw new Error(failed.get(engine));
        const child = repeated(engine) ? medianRound(done.get(engine)!) : runChild({ engine, alpha, resolution, seed, threads, quick, checkImages: 2 });
        const { probabilities, ...rest } = child;
        const entry: EngineResult = rest;
        if (engine === 'mobilenet-native') ours = probabilities;
        else if (ours) entry.maxProbDiff = probabilities.reduce((m, p, i) => Math.max(m, Math.abs(p - ours![i])), 0);
        config.engines.push(entry);
        const gflops = rest.batch32 ? (2 * macs * rest.batch32.imagesPerSecond) / 1e9 : undefined;
        console.log(`α=${alpha} ${resolution}px ${engine.padEnd(16)} b1 ${rest.batch1!.median.toFixed(2)} ms (p99 ${rest.batch1!.p99.toFixed(2)})`
          + (rest.batch32 ? `  b32 ${rest.batch32.imagesPerSecond.toFixed(1)} img/s (${((gflops! / peakGflops(results)) * 100).toFixed(0)} % of peak)` : '')
          + (rest.concurrent64 ? `  64×b1 ${rest.concurrent64.imagesPerSecond.toFixed(1)} img/s in ${rest.concurrent64.batches} batches` : '')
          + `  RSS ${rest.rssPeakMB.toFixed(0)} MB  load ${rest.loadMs.toFixed(0)} ms`
          + (entry.maxProbDiff !== undefined ? `  max|Δp| ${entry.maxProbDiff.toExponential(1)}` : ''));
      } catch (e) {
        results.failures.push((e as Error).message);
        console.error((e as Error).message);
      }
    }
    const by = (n: EngineName) => config.engines.find((e) => e.engine === n);
    const me = by('mobilenet-native'), ort = by('onnxruntime'), wasm = by('tfjs-wasm');
    if (me?.batch1 && ort?.batch1) config.ratios.batch1VsOrt = me.batch1.median / ort.batch1.median;
    if (me?.batch32 && ort?.batch32) config.ratios.batch32VsOrt = me.batch32.imagesPerSecond / ort.batch32.imagesPerSecond;
    // Better still: the ratio within each round (the two runs back to back, under the same load), then
    // the median of those, so that a load change between rounds cancels instead of adding up.
    const mine = done.get('mobilenet-native'), theirs = done.get('onnxruntime');
    if (mine && theirs && mine.length === theirs.length && mine.length > 1) {
      const paired = (f: (r: ChildResult) => number | undefined) => {
        const v = mine.map((r, i) => (f(r) ?? NaN) / (f(theirs[i]) ?? NaN));
        return v.every(Number.isFinite) ? median(v) : undefined;
      };
      config.ratios.batch1VsOrt = paired((r) => r.batch1?.median) ?? config.ratios.batch1VsOrt;
      const b32 = paired((r) => r.batch32 && 1 / r.batch32.imagesPerSecond);
      if (b32) config.ratios.batch32VsOrt = 1 / b32;
    }
    if (me?.batch1 && wasm?.batch1) config.ratios.wasmVsOurs = wasm.batch1.median / me.batch1.median;
    if (me?.batch32 && me.concurrent64) config.ratios.concurrentVsBatch32 = me.concurrent64.imagesPerSecond / me.batch32.imagesPerSecond;
    const x = config.ratios;
    console.log(`  ratios: b1 ours/ort ${x.batch1VsOrt?.toFixed(2) ?? '–'} (target ≤ 0.9)  b32 ours/ort ${x.batch32VsOrt?.toFixed(2) ?? '–'} (≥ 1.1)`
      + `  wasm/ours ${x.wasmVsOurs?.toFixed(1) ?? '–'} (≥ 20)  64-concurrent/b32 ${x.concurrentVsBatch32?.toFixed(2) ?? '–'} (≥ 0.9)`);
    results.configs.push(config);
  }

  // The precision axis, in its own process like every engine; skipped when only some engines were asked for.
  if (!arg('engines') && !process.argv.includes('--no-precision')) {
    const out = path.join(os.tmpdir(), `mobilenet-precision-${process.pid}.json`);
    const child = spawnSync(process.execPath, [path.join(__dirname, 'precision.js'), '--threads', String(threads), '--out', out, ...(quick ? ['--quick'] : [])],
      { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
    const text = child.stdout.toString();
    process.stdout.write(`\n${text}`);
    if (child.status === 0 && fs.existsSync(out)) {
      results.precision = { text, data: JSON.parse(fs.readFileSync(out, 'utf8')) };
      fs.rmSync(out, { force: true });
    } else results.failures.push(`precision bench failed (${child.status ?? child.signal}): ${child.stderr.toString().trim().split('\n').slice(-3).join(' | ')}`);
  }

  // Only a run of the whole grid with every engine replaces the results the README shows; a narrower
  // run (one configuration, some engines, --quick) writes partial.* beside them (git-ignored).
  const full = !quick && pairs.length === 16 && ENGINES.every((e) => engines.includes(e));
  const name = full ? 'latest' : 'partial';
  const chart = full ? 'latency.svg' : 'partial.svg';
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(RESULTS, `${name}.md`), markdown(results));
  fs.writeFileSync(path.join(RESULTS, chart), await svgChart(results));
  console.log(`wrote ${path.relative(process.cwd(), RESULTS)}/${name}.{json,md} and ${chart}`);
  if (results.failures.length) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e) => {
    console.error((e as Error).stack ?? e);
    process.exit(1);
  });
}
