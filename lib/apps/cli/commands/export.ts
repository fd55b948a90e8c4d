/**
 * `mobilenet export --onnx out.onnx [--weights W | --alpha A --resolution R --weights random --seed S]`:
 * writes the model as ONNX (BN folded, NHWC input) for other runtimes.
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import { MobileNetError, BUNDLED_WEIGHTS, buildLayers, DEFAULT_ARCH, type ArchSpec, loadWeights, randomWeights } from '../../../core';
import { exportOnnx } from '../../export/onnx';
import { reportError } from '../main';

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new MobileNetError('ERR_INVALID_ARGUMENT', `--${name} must be a number, got '${value}'`);
  return n;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write the model as an ONNX file (BN folded; input "input" NHWC [N, R, R, 3] in [-1, 1]; outputs probabilities, logits, embedding)')
    .requiredOption('--onnx <file>', 'output .onnx path')
    .option('--weights <path|random>', 'weight file or directory, or "random" (default: the bundled α=0.25/224 model)')
    .option('--alpha <a>', 'width multiplier (random weights)')
    .option('--resolution <r>', 'input side in pixels (a file\'s resolution may be overridden)')
    .option('--classes <n>', 'classifier outputs (random weights)')
    .option('--seed <s>', 'random weight seed', '1')
    .option('--batch <n>', 'fix the batch dimension (default: symbolic)')
    .action(async (o: { onnx: string; weights?: string; alpha?: string; resolution?: string; classes?: string; seed: string; batch?: string }) => {
      try {
        const alpha = num('alpha', o.alpha), resolution = num('resolution', o.resolution), classes = num('classes', o.classes);
        const seed = num('seed', o.seed) ?? 1;
        const batch = num('batch', o.batch);
        let weights;
        if (o.weights === 'random') {
          const arch: ArchSpec = { ...DEFAULT_ARCH, alpha: alpha ?? DEFAULT_ARCH.alpha, resolution: resolution ?? DEFAULT_ARCH.resolution, classes: classes ?? DEFAULT_ARCH.classes };
          weights = randomWeights(arch, seed);
        } else {
          if (alpha !== undefined || classes !== undefined)
            throw new MobileNetError('ERR_INVALID_ARGUMENT', '--alpha and --classes apply to --weights random only; a weight file fixes them');
          weights = await loadWeights(o.weights ?? BUNDLED_WEIGHTS);
          if (resolution !== undefined) weights = { ...weights, arch: { ...weights.arch, resolution } };
        }
        buildLayers(weights.arch);
        const bytes = exportOnnx(weights, { batch });
        fs.writeFileSync(o.onnx, bytes);
        const a = weights.arch;
        process.stdout.write(`wrote ${o.onnx}: ${(bytes.length / 1e6).toFixed(1)} MB, α=${a.alpha} ${a.resolution}px ${a.classes} classes, weights ${weights.source}\n`);
      } catch (e) {
        reportError(e);
      }
    });
}
