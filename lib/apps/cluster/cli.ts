/** The command-line side of the cluster: `mobilenet batch … --queue` (producer) and `mobilenet worker`. */
import { Command } from 'commander';
import { outputFormat } from '../batch';
import { fail, flag, int, type Precision } from '../../core';
import { reportError } from '../cli/main';
import { modelOptions, parseNumberOption, type ModelCliOptions } from '../cli/commands/classify';
import { parsePrecision, producerFingerprint } from './fingerprint';
import type { ClusterSummary } from './producer';
import { DEFAULT_QUEUE_NAME } from './defaults';
// The producer and the worker (bullmq, ioredis: ~130 ms of start-up) load only when a command runs on a queue.
import { applyCoreBudget, coreBudget } from '../core-budget';
import { BatchBar, runBatchCommand } from '../cli/progress';

/** The options `batch` adds for the cluster (registered by lib/apps/cli/commands/batch.ts). */
export function clusterBatchOptions(cmd: Command): Command {
  return cmd
    .option('--queue <url>', 'run on a cluster: queue chunks on this Redis (redis://host:port[/db]) for `mobilenet worker` processes, and collect their records')
    .option('--queue-name <name>', 'with --queue: the BullMQ queue (one producer per queue)', DEFAULT_QUEUE_NAME)
    .option('--chunk-size <n>', 'with --queue: images per job', parseNumberOption('chunk-size', true), 64)
    .option('--max-pending <n>', 'with --queue: most chunks queued at once (default 256, 32 with --ship-bytes)', parseNumberOption('max-pending', true))
    .option('--ship-bytes', 'with --queue: send the image bytes through Redis, for workers without the shared filesystem')
    .option('--max-chunk-bytes <n>', 'with --ship-bytes: most image bytes per chunk; a larger image is an error record', parseNumberOption('max-chunk-bytes', true), 16 * 1024 * 1024);
}

export interface ClusterBatchCliOptions extends ModelCliOptions {
  out: string;
  embed?: boolean;
  topk: number;
  ext?: string;
  progress: boolean;
  precision?: Precision;
  queue?: string;
  queueName: string;
  chunkSize: number;
  maxPending?: number;
  shipBytes?: boolean;
  maxChunkBytes: number;
}

function summaryLine(s: ClusterSummary): string {
  const verb = s.stopped ? 'stopped after' : 'done:';
  const left = s.stopped && s.pendingChunks > 0 ? `; ${s.pendingChunks} chunk(s) stay queued for the workers, re-run the same command to collect them` : '';
  return `mobilenet batch: ${verb} ${s.processed} images (${s.errors} errors), ${s.skipped} already in ${s.out}, ${s.chunks} chunk(s) queued, ${s.adopted} found queued, ${s.seconds.toFixed(1)} s, ${s.rate.toFixed(1)} img/s${left}\n`;
}

/** `batch --queue`: the producer. */
export async function runClusterBatchCli(input: string, opts: ClusterBatchCliOptions, command: Command): Promise<void> {
  const bar = new BatchBar(opts.progress, ' | {workers} workers | {pending} chunks queued');
  await runBatchCommand('mobilenet batch: stopping: collecting the finished chunks; queued ones stay in Redis for the next run', bar, async (signal) => {
    for (const local of ['concurrency', 'batchSize', 'threads'])
      if (command.getOptionValueSource(local) === 'cli') fail('ERR_INVALID_ARGUMENT', `--${local.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies to the local batch; with --queue, set it on the workers (mobilenet worker)`);
    if (!opts.shipBytes && command.getOptionValueSource('maxChunkBytes') === 'cli') fail('ERR_INVALID_ARGUMENT', '--max-chunk-bytes applies with --ship-bytes only');
    outputFormat(opts.out);
    const { fingerprint, featureWidth } = await producerFingerprint(opts);
    const extensions = opts.ext?.split(',').map((e) => e.trim()).filter((e) => e !== '');
    bar.start(input, extensions, { workers: 0, pending: 0 });
    const { runClusterBatch } = await import('./producer');
    const summary = await runClusterBatch({
      input, out: opts.out, queue: opts.queue as string, queueName: opts.queueName, fingerprint, featureWidth, embed: opts.embed, topk: opts.topk, extensions,
      chunkSize: opts.chunkSize, maxPending: opts.maxPending, shipBytes: opts.shipBytes, maxChunkBytes: opts.maxChunkBytes, signal,
      onWarning: (m) => bar.warn(m),
      onProgress: (p) => bar.update(p, { workers: p.workers, pending: p.pendingChunks }),
    });
    return { stopped: summary.stopped, line: summaryLine(summary) };
  });
}

interface WorkerCliOptions extends ModelCliOptions {
  queue: string;
  queueName: string;
  precision?: Precision;
  concurrency: number;
  batchSize: number;
  decoders?: number;
  lockMs: number;
  stalledMs: number;
  maxStalls: number;
  metricsPort?: number;
  metricsHost: string;
  verbose?: boolean;
}

export function registerWorker(program: Command): void {
  modelOptions(program.command('worker').description('classify chunks of a cluster batch (`mobilenet batch … --queue`) from a Redis queue until stopped (SIGTERM: finish the chunks in flight, exit 0)'))
    .requiredOption('--queue <url>', 'the Redis of the queue: redis://host:port[/db]')
    .option('--queue-name <name>', 'the BullMQ queue', DEFAULT_QUEUE_NAME)
    .option('--concurrency <n>', 'chunks classified at once', parseNumberOption('concurrency', true), 2)
    .option('--batch-size <n>', 'most images per forward pass', parseNumberOption('batch-size', true), 16)
    .option('--decoders <n>', 'images decoded at once, across the chunks held (default: cores + 1)', parseNumberOption('decoders', true))
    .option('--lock-ms <ms>', 'lock of a chunk in work; a worker silent this long is taken for dead', parseNumberOption('lock-ms', true), 30_000)
    .option('--stalled-ms <ms>', 'how often to look for chunks of dead workers', parseNumberOption('stalled-ms', true), 30_000)
    .option('--max-stalls <n>', 'times a chunk may lose its worker before it is failed (its files become error records)', flag('max-stalls', (n, label) => int(n, label, 0, 1000)), 3)
    .option('--metrics-port <port>', 'serve /healthz and Prometheus /metrics on this port', flag('metrics-port', (n, label) => int(n, label, 0, 65535)))
    .option('--metrics-host <host>', 'address for --metrics-port', '127.0.0.1')
    .option('--verbose', 'log every chunk')
    .action(async (opts: WorkerCliOptions) => {
      try {
        // The local batch's core budget: decoders and the OpenMP team share the cores without spinning.
        const budget = coreBudget({ threads: opts.threads, concurrency: opts.decoders });
        applyCoreBudget(budget);
        const { startClusterWorker } = await import('./worker');
        const worker = await startClusterWorker({ ...opts, threads: budget.threads, decoders: budget.decoders, log: (m) => process.stderr.write(`mobilenet worker: ${m}\n`) });
        let signals = 0;
        const stop = (signal: NodeJS.Signals): void => {
          if (++signals > 1) process.exit(1);
          process.stderr.write(`mobilenet worker: ${signal}: finishing the chunks in flight, then exiting\n`);
          worker.close().then(
            () => {
              process.stderr.write('mobilenet worker: stopped\n');
              process.exit(0);
            },
            (e: unknown) => {
              reportError(e);
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      } catch (e) {
        reportError(e);
      }
    });
}
