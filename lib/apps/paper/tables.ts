/**
 * Tables 1–9 of the paper as Markdown, the paper's figures beside ours. "Ours" is always computed
 * (lib/core/spec.ts) or measured (this machine); a cell with nothing to show says why, never a guess.
 */
import { summarize, buildLayers, cost, DEFAULT_ARCH, type ArchSpec } from '../../core';
import { layerTypeShares, table3Rows } from './cost';
import * as F from './figures';
import { accuracyFor, timingFor, type PaperResults } from './results';

export interface PaperTable {
  id: string;
  title: string;
  columns: string[];
  rows: string[][];
  notes: string[];
}

const arch = (o: Partial<ArchSpec> = {}): ArchSpec => ({ ...DEFAULT_ARCH, ...o });
const M = (x: number, d = 1) => (x / 1e6).toFixed(d);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const NO_WEIGHTS = 'no weights';

function timingCells(r: PaperResults, alpha: number, resolution: number, variant: ArchSpec['variant'] = 'mobilenet'): string[] {
  if (!r.measured) return ['—', '—'];
  const t = timingFor(r, alpha, resolution, variant);
  if (!t) return ['not timed', 'not timed'];
  return [t.timing.ms1.toFixed(2), Number.isFinite(t.timing.imgPerSec32) ? t.timing.imgPerSec32.toFixed(1) : 'not timed'];
}

function accuracyCells(r: PaperResults, alpha: number, resolution: number, variant: ArchSpec['variant'] = 'mobilenet'): string[] {
  if (!r.measured) return ['—', '—'];
  const a = variant === 'mobilenet' ? accuracyFor(r, alpha, resolution) : undefined;
  if (!a) return [NO_WEIGHTS, NO_WEIGHTS];
  return [pct(a.top1), pct(a.top5)];
}

const MEASURED_COLUMNS = ['ours top-1 (sample)', 'ours top-5 (sample)', 'ms, batch 1', 'img/s, batch 32'];

/** Tables 1–3: the architecture and the cost of its parts, computed from the spec alone. */
function costTables(): PaperTable[] {
  const tables: PaperTable[] = [];
  // Table 1
  tables.push({
    id: 'table1', title: 'Table 1. MobileNet body architecture (1.0 MobileNet-224)',
    columns: ['Type / Stride', 'Filter Shape', 'Input Size', 'Mult-adds (M)', 'Params'],
    rows: summarize(buildLayers(arch())).map((s) => [s.type, s.filter, s.input.join(' × '), M(s.macs, 2), String(s.params)]),
    notes: ['Type/stride, filter shape and input size are the paper\'s columns; every row here is computed by lib/core/spec.ts. Params count conv/FC weights and the FC bias (BN folds away).'],
  });

  // Table 2
  const shares = layerTypeShares(arch());
  tables.push({
    id: 'table2', title: 'Table 2. Resource per layer type (1.0 MobileNet-224)',
    columns: ['Type', 'Mult-adds, paper', 'Mult-adds, ours', 'Parameters, paper', 'Parameters, ours'],
    rows: F.TABLE2.map((p) => {
      const s = shares.find((x) => x.type === p.layerType);
      return [p.type, `${p.macsPct.toFixed(2)} %`, s ? `${s.macsPct.toFixed(2)} %` : '—', `${p.paramsPct.toFixed(2)} %`, s ? `${s.paramsPct.toFixed(2)} %` : '—'];
    }),
    notes: [
      'Parameters are weights only (the paper\'s FC share of 24.33 % excludes the FC bias).',
      'The paper\'s 1.19 % for the first 3×3 conv cannot be right: its four mult-add shares then sum to 99.29 %. The other three rows imply 1.90 %; we compute 1.91 % (10.84 M of 568.7 M) — the paper\'s digits transposed.',
    ],
  });

  // Table 3
  const t3 = table3Rows(F.TABLE3_LAYER);
  tables.push({
    id: 'table3', title: 'Table 3. Modifications to standard convolution (D_K = 3, M = N = 512, D_F = 14; cumulative)',
    columns: ['Layer / Modification', 'Mult-adds (M), paper', 'Mult-adds (M), ours', 'Parameters (M), paper', 'Parameters (M), ours', 'ours: M → N, D_F'],
    rows: F.TABLE3.map((p, i) => [p.model, String(p.macsM), M(t3[i].macs, 1), p.paramsM.toFixed(2), M(t3[i].params, 2), `${t3[i].M} → ${t3[i].N}, ${t3[i].Df}`]),
    notes: ['Computed with depthwiseSeparableCost / standardConvCost (lib/apps/paper/cost.ts); ρ = 0.714 = 160/224 turns the 14×14 map into 10×10.'],
  });
  return tables;
}

/** Table 4: separable against full convolution, with the measured time ratio when there is one. */
function table4(r: PaperResults): PaperTable {
  const full = cost(arch({ variant: 'full-conv' }));
  const mob = cost(arch());
  const t4notes = [`Mult-adds ratio, computed: ${(full.macs / mob.macs).toFixed(2)}× (paper: 4866 / 569 = ${(4866 / 569).toFixed(2)}×).`];
  if (r.measured) {
    const tf = timingFor(r, 1, 224, 'full-conv');
    const tm = timingFor(r, 1, 224, 'mobilenet');
    if (tf && tm) {
      const b1 = tf.timing.ms1 / tm.timing.ms1;
      const b32 = tm.timing.imgPerSec32 / tf.timing.imgPerSec32;
      t4notes.push(`Measured time ratio, full-conv / MobileNet on this engine: ${b1.toFixed(2)}× at batch 1, ${Number.isFinite(b32) ? b32.toFixed(2) + '×' : 'not timed'} at batch 32. ` +
        'It is smaller than the mult-adds ratio because the separable network does not run at the dense convolutions\' arithmetic rate: depthwise layers are memory-bound (9 mult-adds per loaded value) and 1×1 layers on small maps have little reuse, while the full 3×3 convolutions are compute-bound and run near the FMA peak.');
    }
  }
  return {
    id: 'table4', title: 'Table 4. Depthwise separable vs full convolution MobileNet (α = 1, 224)',
    columns: ['Model', 'ImageNet top-1, paper', 'Mult-adds (M), paper', 'Mult-adds (M), ours', 'Params (M), paper', 'Params (M), ours', ...MEASURED_COLUMNS],
    rows: F.TABLE4.map((p) => {
      const c = cost(arch({ variant: p.variant }));
      return [p.model, `${p.top1} %`, String(p.macsM), M(c.macs, 0), String(p.paramsM), M(c.params, 1), ...accuracyCells(r, 1, 224, p.variant), ...timingCells(r, 1, 224, p.variant)];
    }),
    notes: [...t4notes, 'The paper\'s 4866 M leaves out the classifier (our total less its 1.02 M is 4866 M).'],
  };
}

/** Tables 5–7 and the α = 0.25 resolution sweep: shallower, narrower and smaller inputs. */
function scalingTables(r: PaperResults): PaperTable[] {
  const tables: PaperTable[] = [];
  // Table 5
  tables.push({
    id: 'table5', title: 'Table 5. Narrow vs shallow MobileNet',
    columns: ['Model', 'ImageNet top-1, paper', 'Mult-adds (M), paper', 'Mult-adds (M), ours', 'Params (M), paper', 'Params (M), ours', ...MEASURED_COLUMNS],
    rows: F.TABLE5.map((p) => {
      const c = cost(arch({ alpha: p.alpha, variant: p.variant }));
      return [p.model, `${p.top1} %`, String(p.macsM), M(c.macs, 0), String(p.paramsM), M(c.params, 1), ...accuracyCells(r, p.alpha, 224, p.variant), ...timingCells(r, p.alpha, 224, p.variant)];
    }),
    notes: ['Shallow: the five 14×14×512 separable blocks removed (α = 1).'],
  });

  // Table 6
  tables.push({
    id: 'table6', title: 'Table 6. MobileNet width multiplier (224)',
    columns: ['Width multiplier', 'ImageNet top-1, paper', 'Mult-adds (M), paper', 'Mult-adds (M), ours', 'Params (M), paper', 'Params (M), ours', ...MEASURED_COLUMNS],
    rows: F.TABLE6.map((p) => {
      const c = cost(arch({ alpha: p.alpha }));
      return [`${p.alpha.toFixed(2)} MobileNet-224`, `${p.top1} %`, String(p.macsM), M(c.macs, 0), String(p.paramsM), M(c.params, 1), ...accuracyCells(r, p.alpha, 224), ...timingCells(r, p.alpha, 224)];
    }),
    notes: [],
  });

  // Table 7
  tables.push({
    id: 'table7', title: 'Table 7. MobileNet resolution (α = 1)',
    columns: ['Resolution', 'ImageNet top-1, paper', 'Mult-adds (M), paper', 'Mult-adds (M), ours', 'Params (M), paper', 'Params (M), ours', ...MEASURED_COLUMNS],
    rows: F.TABLE7.map((p) => {
      const c = cost(arch({ resolution: p.resolution }));
      return [`1.0 MobileNet-${p.resolution}`, `${p.top1} %`, String(p.macsM), M(c.macs, 0), String(p.paramsM), M(c.params, 1), ...accuracyCells(r, 1, p.resolution), ...timingCells(r, 1, p.resolution)];
    }),
    notes: [],
  });

  // Table 7 at α = 0.25: the staged TF-slim checkpoints
  tables.push({
    id: 'table7-alpha025', title: 'Table 7 at α = 0.25 (the staged TF-slim checkpoints; not a table of the paper)',
    columns: ['Model', `ImageNet top-1, ${F.RELEASE_TOP1_SOURCE}`, 'Mult-adds (M), ours', 'Params (M), ours', ...MEASURED_COLUMNS],
    rows: [224, 192, 160, 128].map((res) => {
      const c = cost(arch({ alpha: 0.25, resolution: res }));
      const q = F.RELEASE_TOP1.find((x) => x.alpha === 0.25 && x.resolution === res);
      return [`0.25 MobileNet-${res}`, q ? `${q.top1} %` : '—', M(c.macs, 1), M(c.params, 2), ...accuracyCells(r, 0.25, res), ...timingCells(r, 0.25, res)];
    }),
    notes: ['The paper prints no α = 0.25 resolution sweep; the release figures are quoted from the TF-slim model table and the staged graphs are the 2017 checkpoints, evaluated with the TF-slim protocol (87.5 % central crop).'],
  });
  return tables;
}

/** Tables 8 and 9: MobileNets beside the other networks the paper quotes. */
function comparisonTables(r: PaperResults): PaperTable[] {
  const tables: PaperTable[] = [];
  for (const [id, title, rows] of [['table8', 'Table 8. MobileNet comparison to popular models', F.TABLE8], ['table9', 'Table 9. Smaller MobileNet comparison to popular models', F.TABLE9]] as const) {
    tables.push({
      id, title,
      columns: ['Model', 'ImageNet top-1, paper', 'Mult-adds (M), paper', 'Mult-adds (M), ours', 'Params (M), paper', 'Params (M), ours', ...MEASURED_COLUMNS],
      rows: rows.map((p) => {
        if (!('mobilenet' in p)) return [`${p.model} (quoted from the paper)`, `${p.top1} %`, String(p.macsM), 'quoted', String(p.paramsM), 'quoted', '—', '—', '—', '—'];
        const { alpha, resolution } = p.mobilenet;
        const c = cost(arch({ alpha, resolution }));
        return [p.model, `${p.top1} %`, String(p.macsM), M(c.macs, 0), String(p.paramsM), M(c.params, 2), ...accuracyCells(r, alpha, resolution), ...timingCells(r, alpha, resolution)];
      }),
      notes: ['Rows other than MobileNet are quoted from the paper for context; this package does not run those networks.'],
    });
  }
  return tables;
}

/** Accuracy of every real model on the sample photos (measured runs only). */
function accuracyTables(r: PaperResults): PaperTable[] {
  const tables: PaperTable[] = [];
  if (r.measured) {
    tables.push({
      id: 'accuracy', title: 'Accuracy of the real weights on the sample photos',
      columns: ['Model', 'Preprocessing', 'Photos', 'Top-1', 'Top-5', 'Mult-adds (M), ours'],
      rows: r.accuracy.map((a) => [a.label, a.preprocess, String(a.count), pct(a.top1), pct(a.top5), M(cost(arch({ alpha: a.alpha, resolution: a.resolution })).macs, 1)]),
      notes: r.accuracyNote ? [r.accuracyNote] : ['tfjs: squash-resize to R×R (the TF.js behaviour); center-crop: 87.5 % central crop then resize (the TF-slim evaluation protocol).'],
    });
  }
  return tables;
}

export function buildPaperTables(r: PaperResults): PaperTable[] {
  const sampleNote = r.measured
    ? `Measured on ${r.machine}${r.quick ? ' (quick mode: fewer runs, first 50 photos)' : ''}. Times: our engine, random weights, median of a few runs. ` +
      `Top-1/top-5: the ${r.quick ? 'first 50 of the ' : ''}200 sample photos in ${r.sampleDir} (one photo per 5th class), not the 50 000-image ImageNet validation set — comparable with the paper in trend, not in level.`
    : 'Run with --measure for times on this machine and accuracy on the sample photos.';
  const tables = [...costTables(), table4(r), ...scalingTables(r), ...comparisonTables(r), ...accuracyTables(r)];
  for (const t of tables) if (['table4', 'table5', 'table6', 'table7', 'table7-alpha025', 'table8', 'table9'].includes(t.id)) t.notes.push(sampleNote);
  return tables;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function tableToMarkdown(t: PaperTable): string {
  const lines = [`### ${t.title}`, '', `| ${t.columns.map(escapeCell).join(' | ')} |`, `| ${t.columns.map(() => '---').join(' | ')} |`];
  for (const row of t.rows) lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
  if (t.notes.length) lines.push('', ...t.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

export function tablesToMarkdown(tables: PaperTable[]): string {
  return [`# MobileNet v1 — the paper's tables beside this package's figures`, '', `Paper: ${F.PAPER_REFERENCE}.`, '', ...tables.map((t) => tableToMarkdown(t) + '\n')].join('\n');
}
