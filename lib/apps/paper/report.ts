/**
 * One self-contained HTML page: the paper's tables beside ours and SVG charts rendered in Node by
 * vega-lite → vega (no scripts in the page, so it opens anywhere, offline).
 */
import { pathToFileURL } from 'url';
import { fail, missingOptional, cost, DEFAULT_ARCH } from '../../core';
import * as F from './figures';
import type { PaperResults } from './results';
import { buildPaperTables, type PaperTable } from './tables';

// vega and vega-lite are ES modules with top-level await: they cannot be require()d, and TypeScript's
// CommonJS output would turn a plain import() into require(). A Function-built import() survives it.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<Record<string, unknown>>;

interface VegaModules {
  compile: (spec: unknown) => { spec: unknown };
  parse: (spec: unknown) => unknown;
  View: new (runtime: unknown, opts: { renderer: string }) => { toSVG(): Promise<string>; finalize(): void };
}

async function loadVega(): Promise<VegaModules> {
  try {
    const vega = await importEsm(pathToFileURL(require.resolve('vega')).href);
    const vl = await importEsm(pathToFileURL(require.resolve('vega-lite')).href);
    return { compile: vl.compile as VegaModules['compile'], parse: vega.parse as VegaModules['parse'], View: vega.View as VegaModules['View'] };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw missingOptional(['vega', 'vega-lite'], 'the report (mobilenet report)', e);
    return fail('ERR_UNSUPPORTED', `the report needs the vega and vega-lite packages (npm install vega vega-lite): ${(e as Error).message}`, e);
  }
}

export async function renderChart(spec: Record<string, unknown>, vega?: VegaModules): Promise<string> {
  const v = vega ?? (await loadVega());
  const view = new v.View(v.parse(v.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec }).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

interface Point { series: string; label: string; macsM: number; paramsM: number; top1: number }

function accuracyPoints(r: PaperResults): Point[] {
  const c = (alpha: number, resolution: number) => cost({ ...DEFAULT_ARCH, alpha, resolution });
  const pts: Point[] = [];
  for (const p of F.RELEASE_TOP1) {
    const k = c(p.alpha, p.resolution);
    pts.push({ series: 'TF-slim release (quoted)', label: `${p.alpha}/${p.resolution}`, macsM: k.macs / 1e6, paramsM: k.params / 1e6, top1: p.top1 });
  }
  for (const p of F.TABLE6) pts.push({ series: 'paper Tables 6–7 (quoted)', label: `${p.alpha}/224`, macsM: p.macsM, paramsM: p.paramsM, top1: p.top1 });
  for (const p of F.TABLE7.slice(1)) pts.push({ series: 'paper Tables 6–7 (quoted)', label: `1/${p.resolution}`, macsM: p.macsM, paramsM: p.paramsM, top1: p.top1 });
  for (const a of r.accuracy) {
    const own = (a.preprocess === 'center-crop') === a.modelId.startsWith('slim');
    if (!own) continue;
    const k = c(a.alpha, a.resolution);
    pts.push({ series: 'ours: sample photos (measured)', label: a.label, macsM: k.macs / 1e6, paramsM: k.params / 1e6, top1: 100 * a.top1 });
  }
  return pts;
}

const COLORS = { domain: ['paper Tables 6–7 (quoted)', 'TF-slim release (quoted)', 'ours: sample photos (measured)'], range: ['#d62728', '#1f77b4', '#2ca02c'] };

function scatter(title: string, x: string, xTitle: string, pts: Point[]): Record<string, unknown> {
  return {
    title, width: 480, height: 320, data: { values: pts },
    layer: [
      { mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x: { field: x, type: 'quantitative', scale: { type: 'log' }, title: xTitle },
          y: { field: 'top1', type: 'quantitative', scale: { zero: false }, title: 'top-1 accuracy (%)' },
          color: { field: 'series', type: 'nominal', scale: COLORS, legend: { orient: 'bottom', title: null, labelLimit: 400, columns: 1 } },
          shape: { field: 'series', type: 'nominal', legend: { orient: 'bottom', title: null, labelLimit: 400, columns: 1 } } } },
      { mark: { type: 'text', dx: 6, align: 'left', fontSize: 8, color: '#555' },
        encoding: { x: { field: x, type: 'quantitative' }, y: { field: 'top1', type: 'quantitative' }, text: { field: 'label' } } },
    ],
  };
}

export async function buildCharts(r: PaperResults): Promise<Array<{ title: string; svg: string }>> {
  const vega = await loadVega();
  const charts: Array<{ title: string; spec: Record<string, unknown> }> = [];
  const pts = accuracyPoints(r);
  charts.push({ title: 'Figure 4: accuracy vs mult-adds', spec: scatter('ImageNet top-1 vs mult-adds (log scale)', 'macsM', 'mult-adds (millions, log scale)', pts) });
  charts.push({ title: 'Figure 5: accuracy vs parameters', spec: scatter('ImageNet top-1 vs parameters (log scale)', 'paramsM', 'parameters (millions, log scale)', pts) });

  const lat = r.timings.map((t) => ({ alpha: String(t.alpha), resolution: String(t.resolution), variant: t.variant, macsM: t.macs / 1e6, ms: t.timing.ms1,
    label: t.variant === 'mobilenet' ? `${t.alpha}/${t.resolution}` : t.variant }));
  charts.push({
    title: 'Measured latency vs mult-adds',
    spec: lat.length === 0
      ? { title: 'Measured latency vs mult-adds — run with --measure', width: 520, height: 80, data: { values: [{ t: 'not measured' }] }, mark: 'text', encoding: { text: { field: 't' } } }
      : {
        title: 'Latency at batch 1 vs mult-adds (random weights)', width: 430, height: 320, data: { values: lat },
        layer: [
          { mark: { type: 'line', opacity: 0.4 }, transform: [{ filter: "datum.variant === 'mobilenet'" }],
            encoding: { x: { field: 'macsM', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'ms', type: 'quantitative', scale: { type: 'log' } }, color: { field: 'alpha', type: 'nominal' }, order: { field: 'macsM' } } },
          { mark: { type: 'point', filled: true, size: 60 },
            encoding: {
              x: { field: 'macsM', type: 'quantitative', scale: { type: 'log' }, title: 'mult-adds (millions, log scale)' },
              y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms per image, batch 1 (log scale)' },
              color: { field: 'alpha', type: 'nominal', title: 'α', legend: { orient: 'bottom' } }, shape: { field: 'resolution', type: 'nominal', title: 'ρ (pixels)', legend: { orient: 'bottom' } } } },
          { mark: { type: 'text', dx: 6, align: 'left', fontSize: 8, color: '#555' },
            encoding: { x: { field: 'macsM', type: 'quantitative' }, y: { field: 'ms', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
  });

  const prof = r.profile.filter((l) => l.type !== 'pool' || r.profileMeasured).map((l, i) => ({ i, name: l.name, type: l.type, value: r.profileMeasured ? l.ms ?? 0 : l.macs / 1e6 }));
  charts.push({
    title: 'Per-layer profile',
    spec: {
      title: r.profileMeasured ? 'Per-layer time, 1.0 MobileNet-224 (ms, measured)' : ['Per-layer mult-adds, 1.0 MobileNet-224', '(engine per-layer times not available)'],
      width: 400, height: 420, data: { values: prof }, mark: 'bar',
      encoding: {
        y: { field: 'name', type: 'ordinal', sort: { field: 'i' }, title: null, axis: { labelFontSize: 8 } },
        x: { field: 'value', type: 'quantitative', title: r.profileMeasured ? 'ms per image' : 'mult-adds (millions)' },
        color: { field: 'type', type: 'nominal', title: 'layer type', legend: { orient: 'bottom' } },
      },
    },
  });

  const out: Array<{ title: string; svg: string }> = [];
  for (const c of charts) out.push({ title: c.title, svg: await renderChart(c.spec, vega) });
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tableHtml(t: PaperTable): string {
  return `<section id="${esc(t.id)}"><h3>${esc(t.title)}</h3><table><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>` +
    t.rows.map((r) => `<tr>${r.map((c) => `<td class="${/quoted|no weights|not timed/.test(c) ? 'muted' : ''}">${esc(c)}</td>`).join('')}</tr>`).join('') +
    `</tbody></table>${t.notes.length ? `<ul class="notes">${t.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}</section>`;
}

export async function buildReportHtml(r: PaperResults): Promise<string> {
  const charts = await buildCharts(r);
  const tables = buildPaperTables(r);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MobileNet v1: the paper reproduced</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h3 { margin-top: 2em; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1.5em; }
figure { margin: 0; border: 1px solid #ddd; padding: 0.5em; } figcaption { font-weight: 600; margin-bottom: 0.3em; }
table { border-collapse: collapse; font-size: 0.85em; } th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
th { background: #f3f3f3; } td.muted { color: #888; } .notes { font-size: 0.85em; color: #444; }
</style></head><body>
<h1>MobileNet v1 — the paper's figures beside this package's</h1>
<p>Paper: ${esc(F.PAPER_REFERENCE)}. Quoted figures are the paper's (or, where marked, the TF-slim release table's); "ours" is computed from the spec or measured on ${esc(r.machine)}${r.measured ? '' : ' (not measured: run with --measure)'}.</p>
<div class="charts">
${charts.map((c) => `<figure><figcaption>${esc(c.title)}</figcaption>${c.svg}</figure>`).join('\n')}
</div>
${tables.map(tableHtml).join('\n')}
</body></html>
`;
}
