/** `mobilenet fetch`: downloads an official TF.js MobileNet v1 release into the model cache. */
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { fetchModel, OFFICIAL_ALPHAS, OFFICIAL_RESOLUTIONS, flag } from '../../../core';
import { reportError } from '../main';

function parseNumber(name: string): (v: string) => number {
  return flag(name, (n) => n as number);
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function register(program: Command): void {
  program
    .command('fetch')
    .description(
      `download an official TF.js MobileNet v1 model (alpha ${OFFICIAL_ALPHAS.join('|')}, resolution ${OFFICIAL_RESOLUTIONS.join('|')}) into the cache ($MOBILENET_HOME, default ~/.cache/mobilenet-native)`,
    )
    .requiredOption('--alpha <a>', 'width multiplier', parseNumber('alpha'))
    .requiredOption('--resolution <r>', 'input resolution', parseNumber('resolution'))
    .option('--base-url <url>', 'server root holding tfjs-models/tfjs/<name>/model.json (a mirror of storage.googleapis.com)')
    .option('--force', 'download again even if a verified copy is cached')
    .action(async (opts: { alpha: number; resolution: number; baseUrl?: string; force?: boolean }) => {
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'downloading [{bar}] {percentage}% {value_mb}/{total_mb} | ETA {eta_formatted}', stream: process.stderr, hideCursor: true }) : undefined;
      let started = false;
      try {
        const result = await fetchModel(opts.alpha, opts.resolution, {
          baseUrl: opts.baseUrl,
          force: opts.force,
          onProgress: (received, total) => {
            if (!bar || total === undefined) return;
            if (!started) {
              bar.start(total, 0, { value_mb: mb(0), total_mb: mb(total) });
              started = true;
            }
            bar.update(received, { value_mb: mb(received), total_mb: mb(total) });
          },
          onRetry: (url, attempt, error) => {
            if (!bar) process.stderr.write(`mobilenet: retrying ${url} (attempt ${attempt + 1}): ${error.message}\n`);
          },
        });
        bar?.stop();
        process.stderr.write(result.cached ? `already cached, checksums verified\n` : `downloaded ${mb(result.bytes)}, verified\n`);
        process.stdout.write(`${result.modelJson}\n`);
      } catch (e) {
        bar?.stop();
        reportError(e);
      }
    });
}
