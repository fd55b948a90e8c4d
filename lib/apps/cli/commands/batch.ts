/** `mobilenet batch`: classify or embed a whole directory / glob / list of images into JSONL or CSV, resumably. */
import { Command } from 'commander';
import { applyCoreBudget, coreBudget } from '../../core-budget';
import { outputFormat, runBatch, type BatchSummary } from '../../batch';
import { clusterBatchOptions, runClusterBatchCli, type ClusterBatchCliOptions } from '../../cluster/cli';
import { loadModelFromCli, modelOptions, parseNumberOption, type ModelCliOptions } from './classify';
import { BatchBar, runBatchCommand } from '../progress';

interface BatchCliOptions extends ModelCliOptions, ClusterBatchCliOptions {
  out: string;
  embed?: boolean;
  topk: number;
  concurrency?: number;
  batchSize: number;
  ext?: string;
  progress: boolean;
  allowSvg?: boolean;
  decodeTimeoutMs?: number;
}

function summaryLine(s: BatchSummary): string {
  const verb = s.stopped ? 'stopped after' : 'done:';
  return `mobilenet batch: ${verb} ${s.processed} images (${s.errors} errors), ${s.skipped} already in ${s.out}, ${s.seconds.toFixed(1)} s, ${s.rate.toFixed(1)} img/s\n`;
}

export function register(program: Command): void {
  clusterBatchOptions(modelOptions(
    program
      .command('batch')
      .description('classify (or embed) every image of a directory, glob or list file into a .jsonl or .csv file; re-run to resume')
      .argument('<input>', "a directory (walked recursively), a quoted glob ('photos/**/*.jpg') or a file listing one path per line"),
  ))
    .requiredOption('--out <file>', 'results file, .jsonl or .csv; records already in it are skipped')
    .option('--embed', 'write the pooled feature vector instead of labels')
    .option('--topk <k>', 'labels per image', parseNumberOption('topk', true), 5)
    .option('--concurrency <n>', 'images decoded in parallel (default: cores + 1, see README: core budget)', parseNumberOption('concurrency', true))
    .option('--batch-size <n>', 'most images per forward pass', parseNumberOption('batch-size', true), 16)
    .option('--ext <list>', 'comma-separated extensions taken from directories (default: common image formats)')
    .option('--allow-svg', 'take SVG files too (trusted input only: rendered in a child process, stopped at the decode time limit)')
    .option('--decode-timeout-ms <ms>', 'time limit of one image decode, then an ERR_DECODE_TIMEOUT record (default 10000)', parseNumberOption('decode-timeout-ms', false))
    .option('--no-progress', 'no progress bar (it is only shown when stderr is a terminal anyway)')
    .action(async (input: string, opts: BatchCliOptions, command: Command) => {
      if (opts.queue !== undefined) return runClusterBatchCli(input, opts, command);
      const bar = new BatchBar(opts.progress);
      await runBatchCommand('mobilenet batch: stopping after the images in flight', bar, async (signal) => {
        outputFormat(opts.out);
        const budget = coreBudget({ threads: opts.threads, concurrency: opts.concurrency });
        applyCoreBudget(budget);
        const model = await loadModelFromCli({ ...opts, threads: budget.threads });
        try {
          const extensions = opts.ext?.split(',').map((e) => e.trim()).filter((e) => e !== '');
          bar.start(input, extensions, {});
          const summary = await runBatch({
            input,
            out: opts.out,
            model,
            embed: opts.embed,
            topk: opts.topk,
            preprocess: opts.preprocess,
            concurrency: budget.decoders,
            batchSize: opts.batchSize,
            extensions,
            allowSvg: opts.allowSvg,
            decodeTimeoutMs: opts.decodeTimeoutMs,
            signal,
            onWarning: (m) => bar.warn(m),
            onProgress: (p) => bar.update(p),
          });
          return { stopped: summary.stopped, line: summaryLine(summary) };
        } finally {
          model.dispose();
        }
      });
    });
}
