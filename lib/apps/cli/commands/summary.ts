/** `mobilenet summary`: Table 1 for one configuration — shapes, mult-adds and parameters per layer. */
import { Command } from 'commander';
import { describe, fail, summarize, buildLayers, cost, DEFAULT_ARCH, type ArchSpec, type ChannelRule, type PaddingMode, type Variant } from '../../../core';
import { reportError } from '../main';

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) fail('ERR_INVALID_ARGUMENT', `--${name} expects a number, got ${describe(v)}`);
    return n;
  };
}

export interface SummaryOptions {
  alpha?: number;
  resolution?: number;
  variant?: Variant;
  classes?: number;
  channelRule?: ChannelRule;
  padding?: PaddingMode;
}

/** Markdown Table 1 for a configuration, with totals. Invalid configurations throw ERR_INVALID_ARGUMENT. */
export function summaryMarkdown(o: SummaryOptions): string {
  const arch: ArchSpec = {
    ...DEFAULT_ARCH,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  };
  const layers = buildLayers(arch);
  const c = cost(arch);
  const lines = [
    `### Table 1 — ${arch.variant} MobileNet, α = ${arch.alpha}, ${arch.resolution} × ${arch.resolution}, ${arch.classes} classes (${arch.channelRule} channels, ${arch.padding} padding)`,
    '',
    '| Layer | Type / Stride | Filter Shape | Input Size | Output Size | Mult-adds | Params |',
    '| --- | --- | --- | --- | --- | ---: | ---: |',
    ...summarize(layers).map((s) => `| ${s.name} | ${s.type} | ${s.filter} | ${s.input.join(' × ')} | ${s.output.join(' × ')} | ${s.macs.toLocaleString('en-US')} | ${s.params.toLocaleString('en-US')} |`),
    '',
    `Total: ${(c.macs / 1e6).toFixed(1)} M mult-adds, ${(c.params / 1e6).toFixed(2)} M parameters (${c.paramsWithBN.toLocaleString('en-US')} with BN).`,
  ];
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('summary')
    .description('print Table 1 (shapes, mult-adds, parameters per layer) for a configuration')
    .option('--alpha <a>', 'width multiplier α in (0, 1]', num('alpha'))
    .option('--resolution <r>', 'input resolution', num('resolution'))
    .option('--variant <v>', "'mobilenet' (default), 'full-conv' or 'shallow'")
    .option('--classes <n>', 'classifier outputs (default 1000)', num('classes'))
    .option('--channel-rule <rule>', "'keras' (default) or 'slim'")
    .option('--padding <mode>', "'same' (default) or 'symmetric'")
    .action((opts: SummaryOptions) => {
      try {
        process.stdout.write(summaryMarkdown(opts) + '\n');
      } catch (e) {
        reportError(e);
      }
    });
}
