/** `mobilenet report`: one self-contained HTML page with the paper's tables and SVG charts. */
import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { fail } from '../../../core';
import { buildReportHtml } from '../../paper/report';
import { collectResults } from '../../paper/results';
import { reportError } from '../main';
import { parseThreads } from './tables';

export function register(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML page: Tables 1–9 beside ours, accuracy/latency charts, per-layer profile')
    .requiredOption('--out <file>', 'HTML file to write')
    .option('--measure', 'measure latency, throughput and sample-photo accuracy on this machine')
    .option('--quick', 'with --measure: fewer runs, fewer configurations, first 50 photos')
    .option('--threads <n>', 'engine threads (default: all cores)', parseThreads)
    .action(async (opts: { out: string; measure?: boolean; quick?: boolean; threads?: number }) => {
      try {
        const dir = path.dirname(path.resolve(opts.out));
        if (!fs.existsSync(dir)) fail('ERR_INVALID_ARGUMENT', `--out: the folder ${dir} does not exist`);
        const results = await collectResults({ measure: !!opts.measure, quick: !!opts.quick, threads: opts.threads, log: (l) => process.stderr.write(`${l}\n`) });
        fs.writeFileSync(opts.out, await buildReportHtml(results));
        process.stderr.write(`wrote ${opts.out}\n`);
      } catch (e) {
        reportError(e);
      }
    });
}
