/** `mobilenet tables`: the paper's Tables 1–9 as Markdown, its figures beside ours. */
import { Command } from 'commander';
import { LIMITS, flag, int } from '../../../core';
import { collectResults } from '../../paper/results';
import { buildPaperTables, tablesToMarkdown } from '../../paper/tables';
import { reportError } from '../main';

export const parseThreads = flag('threads', (n, name) => int(n, name, 1, LIMITS.threads));

export function register(program: Command): void {
  program
    .command('tables')
    .description('print Tables 1–9 of the MobileNet paper as Markdown, with computed mult-adds/parameters beside the published ones')
    .option('--measure', 'also measure latency (batch 1), throughput (batch 32) and top-1/top-5 on $MOBILENET_DATA/images/sample')
    .option('--quick', 'with --measure: fewer runs, fewer configurations, first 50 photos')
    .option('--threads <n>', 'engine threads (default: all cores)', parseThreads)
    .action(async (opts: { measure?: boolean; quick?: boolean; threads?: number }) => {
      try {
        const results = await collectResults({ measure: !!opts.measure, quick: !!opts.quick, threads: opts.threads, log: (l) => process.stderr.write(`${l}\n`) });
        process.stdout.write(tablesToMarkdown(buildPaperTables(results)) + '\n');
      } catch (e) {
        reportError(e);
      }
    });
}
