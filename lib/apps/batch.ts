/**
 * Batch jobs: classify or embed every image of a directory tree, glob or list file into a JSONL or
 * CSV file, resumably.
 *
 * Memory stays flat however many images there are: paths are streamed (fs.opendir walk, readline
 * over a list file), decoding runs a fixed number of images ahead of inference through a bounded
 * queue, and records are written as soon as they exist. The one structure that grows is the set of
 * files already recorded when resuming (one string per done file).
 *
 * Crash safety: each record is one line (JSONL) or one CSV record, written with a single
 * write(2) on an O_APPEND descriptor, so a kill -9 loses at most the images in flight. A trailing
 * partial record (power loss, full disk) is cut off when the job is resumed. Resuming reads the
 * existing output and skips every file it already names, error records included.
 */
import * as path from 'path';
import { LIMITS, validate as v, type ImageInput, type Preprocess, DecodeGuard, readImageFile, type DecodeMode, topK, type MobileNet } from '../core';
import { BatchSlots } from './batch-slots';
import { listInputs } from './batch-inputs';
import { csvField, csvHeader, errorOf, formatRecord, outputFormat, readExisting, RecordFile, type BatchRecord, type OutputFormat } from './batch-records';

export { IMAGE_EXTENSIONS, listInputs } from './batch-inputs';
export { csvField, csvHeader, errorOf, f32, formatRecord, outputFormat, parseCsvRecord, readExisting, type BatchRecord, type OutputFormat, type Resume } from './batch-records';

export interface BatchProgress {
  /** Images recorded in this run (results + errors). */
  processed: number;
  errors: number;
  /** Files skipped because the output already had them. */
  skipped: number;
  /** Images per second in this run so far. */
  rate: number;
}

export interface BatchSummary extends BatchProgress {
  seconds: number;
  /** True when stopped by the signal before the input was exhausted. */
  stopped: boolean;
  out: string;
  format: OutputFormat;
}

/** What the decode → infer pipeline needs: the model and how to run it. */
export interface PipelineOptions {
  model: MobileNet;
  /** Write the pooled features instead of top-k labels. */
  embed?: boolean;
  /** Labels per image (default 5). */
  topk?: number;
  preprocess?: Preprocess;
  /** 'auto' (default) or 'full' (PrepareOptions.decode); default: the model's. */
  decode?: DecodeMode;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  /** Most images per forward pass (default 16). */
  batchSize?: number;
  /** Take SVG files (rendered in a child process, one at a time, stopped at the time limit). Default false: ERR_UNSUPPORTED_MEDIA records. */
  allowSvg?: boolean;
  /** Time limit of one decode in ms (default 10 000): ERR_DECODE_TIMEOUT records. */
  decodeTimeoutMs?: number;
}

export interface BatchOptions extends PipelineOptions {
  /** A directory (walked recursively), a glob pattern, a list file (one path per line) or one image. */
  input: string;
  /** Output file; .jsonl/.ndjson or .csv. Appended to and resumed from if it exists. */
  out: string;
  /** File extensions taken from directories (default IMAGE_EXTENSIONS); globs and list files are taken as given. */
  extensions?: string[];
  /** Aborting stops reading new files; in-flight images are finished and written. */
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress) => void;
  /** Warnings (skipped damaged records on resume, …). */
  onWarning?: (message: string) => void;
}

/** The pipeline options with their defaults, checked. */
export function pipelineSettings(opts: PipelineOptions): Required<Omit<PipelineOptions, 'preprocess' | 'allowSvg' | 'decodeTimeoutMs' | 'decode'>> & { preprocess?: Preprocess; decode: DecodeMode } {
  const classes = opts.model.arch.classes;
  const topk = opts.topk ?? 5;
  v.int(topk, 'topk', 1, classes);
  const concurrency = opts.concurrency ?? 4;
  const batchSize = opts.batchSize ?? 16;
  v.int(concurrency, 'concurrency', 1, 256);
  v.int(batchSize, 'batch size', 1, LIMITS.maxBatch);
  return { model: opts.model, embed: opts.embed === true, topk, concurrency, batchSize, preprocess: opts.preprocess, decode: opts.decode ?? opts.model.decode };
}

/** An image for the pipeline: the name its record carries and what is decoded (a path or the file's bytes). */
export interface PipelineImage {
  file: string;
  input: ImageInput;
}

/**
 * The batch pipeline shared by the local batch and the cluster workers: `concurrency` decoders
 * pull images from `next` (undefined: no more) into a bounded queue, one inference loop runs them
 * `batchSize` at a time. A `next` that has to wait for more images calls `flush` first, so that the
 * images already taken go to inference without a full batch. `emit` gets the records of each forward pass, or of one image that failed
 * to decode; a bad image is an error record, never a thrown error.
 */
export async function runPipeline(next: (flush: () => void) => Promise<PipelineImage | undefined>, opts: PipelineOptions, emit: (records: BatchRecord[]) => void): Promise<void> {
  const { model, embed, topk, concurrency, batchSize, preprocess, decode } = pipelineSettings(opts);
  const classes = model.arch.classes;
  const width = model.featureWidth;
  const R = model.arch.resolution;
  // Decoders write each image straight into a row of a batch buffer; three buffers: one in
  // inference while two fill (decoding runs up to two batches ahead).
  const slots = new BatchSlots(R * R * 3, batchSize, 3);
  const prepare = { preprocess, decode };
  const guard = new DecodeGuard({ allowSvg: opts.allowSvg === true, timeoutMs: opts.decodeTimeoutMs, maxConcurrent: concurrency, maxWaiting: Number.MAX_SAFE_INTEGER });
  const decoder = async (): Promise<void> => {
    const flush = (): void => slots.flush();
    for (let image = await next(flush); image !== undefined; image = await next(flush)) {
      const { batch, row, data, offset } = await slots.claim(image.file);
      try {
        const bytes = typeof image.input === 'string' ? await readImageFile(image.input) : Buffer.from(image.input as Uint8Array);
        // sourceFile: a large JPEG is decoded again from its file at 1/s (libvips takes that option only for files).
        const sourceFile = typeof image.input === 'string' ? image.input : undefined;
        await guard.decode(bytes, (raster, timeoutSeconds) => model.prepare(raster, { ...prepare, timeoutSeconds, out: data, offset, sourceFile: raster === bytes ? sourceFile : undefined }), model.maxPixels);
        slots.settle(batch, row, true);
      } catch (e) {
        emit([{ file: image.file, error: errorOf(e) }]);
        slots.settle(batch, row, false);
      }
    }
  };
  const inference = async (): Promise<void> => {
    for (let b = await slots.next(); b !== undefined; b = await slots.next()) {
      // The executor pads and splits passes into the few batch sizes it keeps plans for.
      const n = b.files.length;
      const records: BatchRecord[] = [];
      try {
        const result = await model.infer(b.data.subarray(0, n * R * R * 3), [n, R, R, 3], { output: embed ? 'embedding' : 'probabilities' });
        b.files.forEach((file, i) => {
          if (!b.ok[i]) return;
          records.push(embed ? { file, embedding: result.subarray(i * width, (i + 1) * width) } : { file, top: topK(result, i * classes, classes, topk) });
        });
      } catch (e) {
        const error = errorOf(e);
        b.files.forEach((file, i) => b.ok[i] && records.push({ file, error }));
      } finally {
        slots.recycle(b);
      }
      emit(records);
    }
  };
  const inferring = inference();
  try {
    await Promise.all(Array.from({ length: concurrency }, decoder));
  } finally {
    slots.close();
    await inferring;
  }
}

/** Runs a batch job to the end (or until the signal aborts) and returns its summary. */
export async function runBatch(opts: BatchOptions): Promise<BatchSummary> {
  const { model, out } = opts;
  const format = outputFormat(out);
  const settings = pipelineSettings(opts);
  const warn = opts.onWarning ?? (() => undefined);
  const header = csvHeader(settings.embed, settings.topk, model.featureWidth);

  const source = listInputs(opts.input, opts.extensions);
  // Fail on a bad input before touching the output file.
  const first = await source.next();
  const resume = await readExisting(out, format, header, settings.embed, warn);
  const file = RecordFile.open(out);
  const write = (line: string): void => file.write(line);
  if (format === 'csv' && resume.empty) write(header.map(csvField).join(',') + '\n');

  const started = process.hrtime.bigint();
  const progress: BatchProgress = { processed: 0, errors: 0, skipped: 0, rate: 0 };
  const report = (): void => {
    const s = Number(process.hrtime.bigint() - started) / 1e9;
    progress.rate = s > 0 ? progress.processed / s : 0;
    opts.onProgress?.({ ...progress });
  };

  let stopped = false;
  let pendingFirst: IteratorResult<string> | undefined = first;
  const nextImage = async (): Promise<PipelineImage | undefined> => {
    for (;;) {
      if (opts.signal?.aborted) {
        stopped = true;
        return undefined;
      }
      if (file.failure) return undefined;
      let r: IteratorResult<string>;
      if (pendingFirst) {
        r = pendingFirst;
        pendingFirst = undefined;
      } else r = await source.next();
      if (r.done) return undefined;
      if (resume.done.has(path.resolve(r.value))) {
        progress.skipped++;
        continue;
      }
      return { file: r.value, input: r.value };
    }
  };

  try {
    await runPipeline(nextImage, { ...settings, allowSvg: opts.allowSvg, decodeTimeoutMs: opts.decodeTimeoutMs }, (records) => {
      for (const rec of records) {
        write(formatRecord(format, header.length, rec));
        progress.processed++;
        if ('error' in rec) progress.errors++;
      }
      report();
    });
  } finally {
    // Closes the directory handle of an abandoned walk (after an abort) instead of leaving it to GC.
    await source.return(undefined).catch(() => undefined);
    file.close();
  }
  if (file.failure) throw file.failure;
  report();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...progress, seconds, stopped, out, format };
}
