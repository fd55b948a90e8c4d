/** Turns the benchmark's results into the Markdown table and the SVG chart. */
import type { BenchResults } from './run';

/** The GFLOP/s that "% of peak" divides by: the FMA-issue limit where measured, else (older results) sgemm. */
export function peakGflops(r: Pick<BenchResults, 'sgemm' | 'fma'>): number {
  return r.fma && r.fma.gflops > 0 ? r.fma.gflops : r.sgemm.gflops;
}

const f = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

export function markdown(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(`# MobileNet v1 benchmark`, '');
  lines.push(`${r.date} · ${r.machine} · ${r.threads} threads · ${r.fma ? `FMA-issue peak ${f(r.fma.gflops)} GFLOP/s (${r.fma.isa}, same run) · ` : ''}oneDNN sgemm ${f(r.sgemm.gflops)} GFLOP/s (n=${r.sgemm.n}, same run)${r.rounds && r.rounds > 1 ? ` · ours and onnxruntime: median of ${r.rounds} alternating rounds` : ''}${r.quick ? ' · quick run' : ''}`, '');
  lines.push('Random weights (seed ' + r.seed + '), identical for every engine (onnxruntime runs our ONNX export of them). '
    + 'Batch-1: median / p99 ms. Batch-32: images/s and the fraction of the peak it reaches (2 · mult-adds · img/s over the FMA-issue peak; over sgemm in runs before it existed). '
    + 'RSS: peak resident MB of the engine\'s own process. Load: model creation ms (first inference in brackets).', '');
  lines.push('| α | res | MMACs | engine | b1 median | b1 p99 | b32 img/s | % peak | 64×b1 img/s | peak RSS MB | load ms | max\\|Δp\\| vs ours |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of r.configs) {
    for (const e of c.engines) {
      const peak = e.batch32 ? (2 * c.macs * e.batch32.imagesPerSecond) / 1e9 / peakGflops(r) * 100 : undefined;
      lines.push(`| ${c.alpha} | ${c.resolution} | ${f(c.macs / 1e6, 0)} | ${e.engine} | ${f(e.batch1?.median, 2)} | ${f(e.batch1?.p99, 2)} | ${f(e.batch32?.imagesPerSecond)} | ${f(peak)} | ${f(e.concurrent64?.imagesPerSecond)} | ${f(e.rssPeakMB, 0)} | ${f(e.loadMs, 0)} (${f(e.firstMs, 0)}) | ${e.maxProbDiff === undefined ? '–' : e.maxProbDiff.toExponential(1)} |`);
    }
  }
  lines.push('', '## Ratios (same run)', '', 'Ours vs onnxruntime: the median of the per-round ratios (each round runs the two back to back).', '');
  lines.push('| α | res | b1: ours / ort | b32: ours / ort | b1: wasm / ours | 64 concurrent / b32 |');
  lines.push('|---|---|---|---|---|---|');
  for (const c of r.configs) {
    const x = c.ratios;
    lines.push(`| ${c.alpha} | ${c.resolution} | ${f(x.batch1VsOrt, 2)} | ${f(x.batch32VsOrt, 2)} | ${f(x.wasmVsOurs, 1)} | ${f(x.concurrentVsBatch32, 2)} |`);
  }
  if (r.precision) lines.push('', '## Precision axis (same run)', '', '```', r.precision.text.trimEnd(), '```');
  lines.push('');
  return lines.join('\n');
}

export async function svgChart(r: BenchResults): Promise<string> {
  // vega and vega-lite are ES modules only; a CommonJS build must load them with a real import().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const esm = new Function('s', 'return import(s)') as (s: string) => Promise<any>;
  const vega = await esm('vega');
  const vl = await esm('vega-lite');
  const values = r.configs.flatMap((c) => c.engines.filter((e) => e.batch1).map((e) => ({
    engine: e.engine, mmacs: c.macs / 1e6, ms: e.batch1!.median, config: `α=${c.alpha}/${c.resolution}`,
  })));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'MobileNet v1, batch-1 latency vs paper mult-adds', subtitle: `${r.machine}, ${r.threads} threads, ${r.date.slice(0, 10)}` },
    width: 560, height: 340,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'mmacs', type: 'quantitative', title: 'mult-adds (millions)' },
      y: { field: 'ms', type: 'quantitative', title: 'median latency (ms, log scale)', scale: { type: 'log' } },
      color: { field: 'engine', type: 'nominal' },
      tooltip: [{ field: 'config' }, { field: 'ms' }],
    },
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
