/** `mobilenet classify <files…>`: top-k ImageNet labels for image files, as a table or JSON. */
import { Command } from 'commander';
import { MobileNetError, flag, int, validate, type Preprocess, checkDecodeMode, type DecodeMode, type ClassScore, MobileNet, type Precision } from '../../../core';
import { reportError } from '../main';

export interface ModelCliOptions {
  weights?: string;
  alpha?: number;
  resolution?: number;
  preprocess?: Preprocess;
  threads?: number;
  precision?: 'fp32' | 'bf16' | 'int8';
  decode?: DecodeMode;
}

/** A numeric flag: any finite number, or with `integer` an integer of at least 1. */
export function parseNumberOption(name: string, integer = false): (v: string) => number {
  return flag(name, integer ? (n, label) => int(n, label, 1) : (n) => n as number);
}

export function parsePreprocess(value: string): Preprocess {
  return validate.preprocess(value, '--preprocess');
}

/** Adds the options that choose a model (shared with `batch`). */
export function modelOptions(cmd: Command): Command {
  return cmd
    .option('--weights <path>', 'weight file or directory (TF.js model.json, TF-slim .pb, .safetensors); default: a cached official release for --alpha/--resolution, else the bundled α=0.25/224 model')
    .option('--alpha <a>', 'width multiplier of the official release to use (see `mobilenet fetch`)', parseNumberOption('alpha'))
    .option('--resolution <r>', 'input resolution', parseNumberOption('resolution', true))
    .option('--preprocess <mode>', "'tfjs' (resize the whole image) or 'center-crop' (87.5 % central crop, TF-slim)", parsePreprocess)
    .option('--threads <n>', 'inference threads (default: all cores)', parseNumberOption('threads', true))
    .option('--precision <p>', "'fp32' (default), 'bf16' or 'int8' (see README: Reduced precision)", parsePrecision)
    .option('--decode <mode>', "'auto' (default: large JPEGs shrink while decoding) or 'full' (decode every pixel)", (v: string) => checkDecodeMode(v));
}

function parsePrecision(v: string): 'fp32' | 'bf16' | 'int8' {
  if (v !== 'fp32' && v !== 'bf16' && v !== 'int8') throw new MobileNetError('ERR_INVALID_ARGUMENT', `--precision expects 'fp32', 'bf16' or 'int8', got ${JSON.stringify(v)}`);
  return v;
}

/**
 * --weights wins (with --alpha checked against it and --resolution overriding the input size);
 * otherwise --alpha/--resolution pick a cached official release, or the bundled model.
 */
export async function loadModelFromCli(o: ModelCliOptions): Promise<MobileNet> {
  const common = { preprocess: o.preprocess, threads: o.threads, precision: o.precision, decode: o.decode };
  if (o.weights !== undefined) return MobileNet.load({ ...common, weights: o.weights, alpha: o.alpha, resolution: o.resolution });
  return MobileNet.load({ ...common, alpha: o.alpha, resolution: o.resolution });  // the official release (weights/official.ts)
}

interface FileResult {
  file: string;
  top?: ClassScore[];
  error?: { code: string; message: string };
}

function table(results: FileResult[]): string {
  const rows: string[][] = [['file', 'rank', 'label', 'probability']];
  for (const r of results) {
    if (r.error) rows.push([r.file, '-', `error [${r.error.code}] (see stderr)`, '']);
    else r.top!.forEach((s, i) => rows.push([i === 0 ? r.file : '', String(i + 1), s.className, s.probability.toFixed(4)]));
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`.trimEnd()).join('\n');
}

/** Runs fn over items with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function register(program: Command): void {
  modelOptions(
    program
      .command('classify')
      .description('print the top-k ImageNet labels of image files (JPEG, PNG, WebP, GIF, TIFF, AVIF)')
      .argument('<files...>', 'image files'),
  )
    .option('--topk <k>', 'labels per image', parseNumberOption('topk', true), 5)
    .option('--json', 'print JSON: [{ file, top: [{ className, classIndex, probability }] } | { file, error: { code, message } }]')
    .action(async (files: string[], opts: ModelCliOptions & { topk: number; json?: boolean }) => {
      let model: MobileNet | undefined;
      try {
        model = await loadModelFromCli(opts);
        int(opts.topk, '--topk', 1, model.arch.classes);
        const m = model;
        // One call per file, so one bad file fails alone; the executor batches the concurrent calls.
        const results: FileResult[] = await mapLimit(files, 16, async (file): Promise<FileResult> => {
            try {
              return { file, top: await m.classify(file, { topk: opts.topk, preprocess: opts.preprocess }) };
            } catch (e) {
              if (!(e instanceof MobileNetError)) throw e;
              return { file, error: { code: e.code, message: e.message } };
            }
          });
        process.stdout.write((opts.json ? JSON.stringify(results, null, 2) : table(results)) + '\n');
        const failed = results.filter((r) => r.error);
        if (failed.length > 0) {
          for (const r of failed) process.stderr.write(`mobilenet: ${r.file}: error [${r.error!.code}]: ${r.error!.message}\n`);
          process.exitCode = 1;
        }
      } catch (e) {
        reportError(e);
      } finally {
        model?.dispose();
      }
    });
}
