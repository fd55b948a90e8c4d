/**
 * Everything `mobilenet tables` and `mobilenet report` show that has to be measured on this machine:
 * engine timings (random weights, any configuration) and accuracy on the sample photos (only where
 * real weights exist). Collected once, then formatted as Markdown tables or charts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evaluateAccuracy } from '../accuracy';
import { findCachedModel, type Preprocess, MobileNet, buildLayers, DEFAULT_ARCH, type Variant } from '../../core';
import { measureTiming, type Timing } from './measure';

export const GRID_ALPHAS = [1, 0.75, 0.5, 0.25] as const;
export const GRID_RESOLUTIONS = [224, 192, 160, 128] as const;

/** $MOBILENET_DATA, else ../shared/data beside the repository root. */
export function dataDir(): string {
  return process.env.MOBILENET_DATA ?? path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'data');
}

export interface WeightedModel {
  id: string;
  label: string;
  alpha: number;
  resolution: number;
  weights: string;
  /** Preprocessing modes to evaluate; the first is the model's own protocol. */
  protocols: Preprocess[];
}

/** Real weights available here: the staged test models and any complete cached official release. */
export function weightedModels(data: string = dataDir()): WeightedModel[] {
  const out: WeightedModel[] = [];
  const tfjs = (a: string) => path.join(data, 'weights', 'tfjs-layers', `mobilenet_v1_${a}_224`, 'model.json');
  const slim = (r: number) => path.join(data, 'weights', 'tf-slim-frozen', `mobilenet_v1_0.25_${r}`, 'frozen_graph.pb');
  const add = (m: WeightedModel) => { if (fs.existsSync(m.weights)) out.push(m); };
  add({ id: 'tfjs-0.75-224', label: 'TF.js α=0.75/224', alpha: 0.75, resolution: 224, weights: tfjs('0.75'), protocols: ['tfjs', 'center-crop'] });
  add({ id: 'tfjs-0.25-224', label: 'TF.js α=0.25/224', alpha: 0.25, resolution: 224, weights: tfjs('0.25'), protocols: ['tfjs'] });
  for (const r of [224, 192, 160, 128])
    add({ id: `slim-0.25-${r}`, label: `TF-slim α=0.25/${r}`, alpha: 0.25, resolution: r, weights: slim(r), protocols: ['center-crop'] });
  for (const { alpha, resolution, file } of cachedOfficialModels())
    out.push({ id: `official-${alpha}-${resolution}`, label: `official TF.js α=${alpha}/${resolution} (cached)`, alpha, resolution, weights: file, protocols: ['tfjs'] });
  return out;
}

/** The official releases in the model cache (none when nothing was fetched). */
function cachedOfficialModels(): Array<{ alpha: number; resolution: number; file: string }> {
  const out: Array<{ alpha: number; resolution: number; file: string }> = [];
  for (const alpha of GRID_ALPHAS)
    for (const resolution of GRID_RESOLUTIONS) {
      try {
        const file = findCachedModel(alpha, resolution);
        if (file) out.push({ alpha, resolution, file });
      } catch {
        // a combination the fetcher does not know: not cached
      }
    }
  return out;
}

export interface TimingRecord {
  alpha: number;
  resolution: number;
  variant: Variant;
  macs: number;
  params: number;
  timing: Timing;
}

export interface AccuracyRecord {
  modelId: string;
  label: string;
  alpha: number;
  resolution: number;
  preprocess: Preprocess;
  top1: number;
  top5: number;
  count: number;
}

export interface LayerTime {
  name: string;
  type: string;
  /** Milliseconds per image when the engine reports per-layer times; otherwise absent. */
  ms?: number;
  macs: number;
}

export interface PaperResults {
  measured: boolean;
  quick: boolean;
  machine: string;
  timings: TimingRecord[];
  accuracy: AccuracyRecord[];
  /** α=1/224 per layer: measured times if model.profile() exists, else mult-adds only. */
  profile: LayerTime[];
  profileMeasured: boolean;
  sampleDir: string;
  /** Why accuracy is missing, when it is. */
  accuracyNote?: string;
}

export interface CollectOptions {
  measure?: boolean;
  quick?: boolean;
  threads?: number;
  data?: string;
  log?: (line: string) => void;
}

interface TimedConfig { alpha: number; resolution: number; variant: Variant }

function timedConfigs(quick: boolean): TimedConfig[] {
  const list: TimedConfig[] = [];
  const add = (c: TimedConfig) => { if (!list.some((x) => x.alpha === c.alpha && x.resolution === c.resolution && x.variant === c.variant)) list.push(c); };
  if (quick) {
    // Just the rows of Tables 4–9.
    for (const alpha of GRID_ALPHAS) add({ alpha, resolution: 224, variant: 'mobilenet' });
    for (const resolution of GRID_RESOLUTIONS) add({ alpha: 1, resolution, variant: 'mobilenet' });
    add({ alpha: 0.5, resolution: 160, variant: 'mobilenet' });
  } else {
    for (const alpha of GRID_ALPHAS) for (const resolution of GRID_RESOLUTIONS) add({ alpha, resolution, variant: 'mobilenet' });
  }
  add({ alpha: 1, resolution: 224, variant: 'full-conv' });
  add({ alpha: 1, resolution: 224, variant: 'shallow' });
  return list;
}

type Profiled = { profile?: () => Promise<unknown> | unknown };

/** Accepts [{ name, ms }] or [{ name, timeMs }] style per-layer reports; anything else → undefined. */
function readProfile(raw: unknown): Map<string, number> | undefined {
  const list = Array.isArray(raw) ? raw : (raw as { layers?: unknown })?.layers;
  if (!Array.isArray(list)) return undefined;
  const out = new Map<string, number>();
  for (const e of list as Array<Record<string, unknown>>) {
    const ms = [e.ms, e.timeMs, e.meanMs, e.avgMs].find((v) => typeof v === 'number') as number | undefined;
    if (typeof e.name === 'string' && ms !== undefined) out.set(e.name, ms);
  }
  return out.size > 0 ? out : undefined;
}

export async function collectResults(options: CollectOptions = {}): Promise<PaperResults> {
  const quick = options.quick ?? false;
  const measured = options.measure ?? false;
  const log = options.log ?? (() => undefined);
  const data = options.data ?? dataDir();
  const sampleDir = path.join(data, 'images', 'sample');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const results: PaperResults = {
    measured, quick, machine: `${cpu}, ${os.availableParallelism()} cores, ${options.threads ?? 'all'} threads`,
    timings: [], accuracy: [], profile: [], profileMeasured: false, sampleDir,
  };
  const base = buildLayers(DEFAULT_ARCH).filter((l) => l.type !== 'softmax');
  results.profile = base.map((l) => ({ name: l.name, type: l.type, macs: l.macs }));
  if (!measured) return results;

  for (const c of timedConfigs(quick)) {
    const model = await MobileNet.load({ weights: 'random', alpha: c.alpha, resolution: c.resolution, variant: c.variant, seed: 1, threads: options.threads });
    try {
      const slow = c.variant === 'full-conv';
      const timing = await measureTiming(model, { runs1: quick ? 3 : slow ? 5 : 9, runs32: quick || slow ? 1 : 3 });
      const cost = model.cost();
      results.timings.push({ ...c, macs: cost.macs, params: cost.params, timing });
      log(`timed ${c.variant} α=${c.alpha}/${c.resolution}: ${timing.ms1.toFixed(2)} ms, ${timing.imgPerSec32.toFixed(1)} img/s`);
      if (c.alpha === 1 && c.resolution === 224 && c.variant === 'mobilenet') {
        const p = model as unknown as Profiled;
        if (typeof p.profile === 'function') {
          const times = readProfile(await p.profile());
          if (times) {
            results.profile = base.map((l) => ({ name: l.name, type: l.type, macs: l.macs, ms: times.get(l.name) }));
            results.profileMeasured = results.profile.some((l) => l.ms !== undefined);
          }
        }
      }
    } finally {
      model.dispose();
    }
  }

  if (!fs.existsSync(path.join(sampleDir, 'labels.tsv'))) {
    results.accuracyNote = `no sample photos at ${sampleDir} (set MOBILENET_DATA)`;
    return results;
  }
  for (const wm of weightedModels(data)) {
    const model = await MobileNet.load({ weights: wm.weights, threads: options.threads });
    try {
      for (const preprocess of wm.protocols) {
        const r = await evaluateAccuracy(model, sampleDir, { preprocess, limit: quick ? 50 : undefined });
        results.accuracy.push({ modelId: wm.id, label: wm.label, alpha: wm.alpha, resolution: wm.resolution, preprocess, top1: r.top1, top5: r.top5, count: r.count });
        log(`accuracy ${wm.label} (${preprocess}): top-1 ${(100 * r.top1).toFixed(1)} %, top-5 ${(100 * r.top5).toFixed(1)} % on ${r.count}`);
      }
    } finally {
      model.dispose();
    }
  }
  return results;
}

/** The accuracy to show for an (α, ρ) row: the model's own protocol, TF-slim/official before TF.js copies. */
export function accuracyFor(results: PaperResults, alpha: number, resolution: number): AccuracyRecord | undefined {
  const own = results.accuracy.filter((a) => a.alpha === alpha && a.resolution === resolution && (a.preprocess === 'center-crop') === a.modelId.startsWith('slim'));
  return own.find((a) => a.modelId.startsWith('official')) ?? own.find((a) => a.modelId.startsWith('slim')) ?? own[0];
}

export function timingFor(results: PaperResults, alpha: number, resolution: number, variant: Variant = 'mobilenet'): TimingRecord | undefined {
  return results.timings.find((t) => t.alpha === alpha && t.resolution === resolution && t.variant === variant);
}
