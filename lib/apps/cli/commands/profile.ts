/**
 * `mobilenet profile`: measured time per layer beside its mult-adds, and the share of each layer
 * type — the paper's Table 2 point (1×1 convolutions carry 95 % of the mult-adds) checked against
 * the clock — plus whether each layer ran a JIT or a reference oneDNN kernel.
 */
import { Command } from 'commander';
import { describe, fail, load, type ModelProfile } from '../../../core';
import { reportError } from '../main';

function num(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
      fail('ERR_INVALID_ARGUMENT', `--${name} expects ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`);
    return n;
  };
}

interface ProfileCliOptions {
  alpha?: number;
  resolution?: number;
  batch: number;
  runs: number;
  weights?: string;
  threads?: number;
  json?: boolean;
}

const GROUPS: Array<{ label: string; types: string[] }> = [
  { label: 'Conv 1×1 (pointwise)', types: ['pw'] },
  { label: 'Conv dw 3×3', types: ['dw'] },
  { label: 'Conv 3×3 (first, full)', types: ['conv'] },
  { label: 'Fully connected', types: ['fc'] },
  { label: 'Avg pool + softmax', types: ['pool', 'softmax'] },
];

/** A reference kernel is oneDNN's portable C++ loop ("ref:any", "ref_..."); everything else is JIT or a tuned library path. */
export function isReference(kernel: string): boolean {
  return /^ref/.test(kernel) || kernel.includes('ref:');
}

export function profileMarkdown(p: ModelProfile, title: string): string {
  const pct = (x: number, total: number) => (total > 0 ? ((100 * x) / total).toFixed(1) : '0.0') + ' %';
  const lines = [
    `### Per-layer profile — ${title}, batch ${p.batch}, median of ${p.runs} runs`,
    '',
    '| Layer | Type | Mult-adds | % mult-adds | ms | % time | GFLOP/s | Kernel | of which reorder |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const l of p.layers) {
    const flops = l.ms > 0 ? (2 * l.macs * p.batch) / (l.ms * 1e6) : 0;
    const reorder = l.reorderMs > 0 ? `${l.reorderMs.toFixed(3)} ms (${l.reorderKernel})` : '';
    lines.push(`| ${l.name} | ${l.type} | ${l.macs.toLocaleString('en-US')} | ${pct(l.macs, p.macs)} | ${l.ms.toFixed(3)} | ${pct(l.ms, p.totalMs)} | ${l.macs > 0 ? flops.toFixed(1) : ''} | ${l.kernel}${isReference(l.kernel) ? ' (reference)' : ''} | ${reorder} |`);
  }
  lines.push('', '| Layer type | Layers | Mult-adds | % mult-adds | ms | % time |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const g of GROUPS) {
    const ls = p.layers.filter((l) => g.types.includes(l.type));
    if (ls.length === 0) continue;
    const macs = ls.reduce((s, l) => s + l.macs, 0), ms = ls.reduce((s, l) => s + l.ms, 0);
    lines.push(`| ${g.label} | ${ls.length} | ${macs.toLocaleString('en-US')} | ${pct(macs, p.macs)} | ${ms.toFixed(3)} | ${pct(ms, p.totalMs)} |`);
  }
  const reorderMs = p.layers.reduce((s, l) => s + l.reorderMs, 0);
  const refs = p.layers.filter((l) => isReference(l.kernel));
  lines.push(
    '',
    `Sum of layers: ${p.totalMs.toFixed(3)} ms (each primitive timed alone; ${reorderMs.toFixed(3)} ms in layout reorders); ` +
      `whole forward pass: ${p.forwardMs.toFixed(3)} ms (${(p.forwardMs / p.batch).toFixed(3)} ms/image, ` +
      `${((2 * p.macs * p.batch) / (p.forwardMs * 1e6)).toFixed(1)} GFLOP/s).`,
    refs.length === 0
      ? 'Every layer ran a JIT kernel.'
      : `Reference (non-JIT) kernels: ${refs.map((l) => `${l.name} (${l.kernel})`).join(', ')}.`,
  );
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('profile')
    .description('time every layer of a forward pass (oneDNN primitive by primitive) beside its mult-adds')
    .option('--alpha <a>', 'width multiplier α in (0, 1] (random weights unless --weights)', num('alpha'))
    .option('--resolution <r>', 'input resolution', num('resolution', true))
    .option('--batch <n>', 'images per forward pass', num('batch', true), 1)
    .option('--runs <n>', 'timed repetitions (each layer reports its median)', num('runs', true), 10)
    .option('--weights <path>', 'weight file or directory (default: random weights; timing does not depend on the values)')
    .option('--threads <n>', 'inference threads (default: all cores)', num('threads', true))
    .option('--json', 'print the profile as JSON')
    .action(async (o: ProfileCliOptions) => {
      try {
        const model = await load({
          weights: o.weights ?? 'random',
          ...(o.weights === undefined ? { alpha: o.alpha ?? 1, seed: 1 } : o.alpha !== undefined ? { alpha: o.alpha } : {}),
          ...(o.resolution !== undefined ? { resolution: o.resolution } : {}),
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
        });
        try {
          const p = await model.profile({ batch: o.batch, runs: o.runs });
          if (o.json) process.stdout.write(JSON.stringify({ alpha: model.arch.alpha, resolution: model.arch.resolution, ...p }, null, 2) + '\n');
          else process.stdout.write(profileMarkdown(p, `α = ${model.arch.alpha}, ${model.arch.resolution} × ${model.arch.resolution}`) + '\n');
        } finally {
          model.dispose();
        }
      } catch (e) {
        reportError(e);
      }
    });
}
