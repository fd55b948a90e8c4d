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
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { Minimatch } from 'minimatch';
import { describe, fail, MobileNetError, LIMITS, validate as v, type ImageInput, type Preprocess, DecodeGuard, readImageFile, type DecodeMode, topK, type ClassScore, type MobileNet } from '../core';
import { BatchSlots } from './batch-slots';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif'];

export type OutputFormat = 'jsonl' | 'csv';

export interface BatchProgress {
  /** Images recorded in this run (results + errors). */
  processed: number;
  errors: number;
  /** Files skipped because the output already had them. */
  skipped: number;
  /** Images per second in this run so far. */
  rate: number;
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

/** Records of these codes are not "done": a re-run tries their files again (a later record supersedes). */
const RETRIED_CODES = new Set(['ERR_READ']);

export interface BatchSummary extends BatchProgress {
  seconds: number;
  /** True when stopped by the signal before the input was exhausted. */
  stopped: boolean;
  out: string;
  format: OutputFormat;
}

export function outputFormat(out: string): OutputFormat {
  if (typeof out !== 'string' || out.length === 0) fail('ERR_INVALID_ARGUMENT', `--out must be a file path, got ${describe(out)}`);
  const ext = path.extname(out).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  return fail('ERR_INVALID_ARGUMENT', `--out must end in .jsonl, .ndjson or .csv (the format is taken from the name), got ${JSON.stringify(out)}`);
}

const GLOB_MAGIC = /[*?[\]{}]/;

/** Depth-first walk without following directory symlinks (no cycles); file symlinks are yielded. */
async function* walk(root: string, accept: (name: string) => boolean): AsyncGenerator<string> {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let handle: fs.Dir;
    try {
      handle = await fsp.opendir(dir);
    } catch {
      continue; // unreadable subdirectory: nothing to record for it
    }
    for await (const entry of handle) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if ((entry.isFile() || entry.isSymbolicLink()) && accept(entry.name)) yield p;
    }
  }
}

async function* readList(listFile: string): AsyncGenerator<string> {
  const base = path.dirname(listFile);
  const rl = readline.createInterface({ input: fs.createReadStream(listFile), crlfDelay: Infinity });
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    yield path.isAbsolute(line) ? line : path.join(base, line);
  }
}

/**
 * The image paths of a batch input, streamed. A directory is walked (files with an image extension),
 * an existing file with an image extension is the one image, any other existing file is a list of
 * paths (relative ones are relative to the list file), and a path that does not exist but has glob
 * characters is a glob pattern.
 */
export async function* listInputs(input: string, extensions: readonly string[] = IMAGE_EXTENSIONS): AsyncGenerator<string> {
  if (typeof input !== 'string' || input.length === 0) fail('ERR_INVALID_ARGUMENT', `the batch input must be a directory, glob or list file, got ${describe(input)}`);
  const exts = new Set(extensions.map((e) => (e.startsWith('.') ? e : '.' + e).toLowerCase()));
  const accept = (name: string): boolean => exts.has(path.extname(name).toLowerCase());
  let stat: fs.Stats | undefined;
  try {
    stat = await fsp.stat(input);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) {
    yield* walk(input, accept);
    return;
  }
  if (stat?.isFile()) {
    if (accept(input)) yield input;
    else yield* readList(input);
    return;
  }
  if (!GLOB_MAGIC.test(input)) fail('ERR_INVALID_ARGUMENT', `batch input ${JSON.stringify(input)} does not exist (expected a directory, a list file or a glob pattern)`);
  const pattern = path.normalize(input).split(path.sep).join('/');
  const parts = pattern.split('/');
  const firstMagic = parts.findIndex((p) => GLOB_MAGIC.test(p));
  const base = parts.slice(0, firstMagic).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const mm = new Minimatch(pattern, { dot: false });
  for await (const p of walk(base, () => true)) {
    const rel = (base === '.' ? path.relative('.', p) : p).split(path.sep).join('/');
    if (mm.match(rel)) yield p;
  }
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function parseCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  fields.push(cur);
  return fields;
}

export function csvHeader(embed: boolean, topk: number, width: number): string[] {
  const head = ['file', 'error_code', 'error_message'];
  if (embed) for (let i = 0; i < width; i++) head.push(`e${i}`);
  else for (let i = 1; i <= topk; i++) head.push(`label_${i}`, `index_${i}`, `prob_${i}`);
  return head;
}

/** Shortest decimal that reads back as the same float32. */
export const f32 = (x: number): number => Number(x.toPrecision(9));

export interface Resume {
  done: Set<string>;
  /** The output is new or empty (CSV needs its header). */
  empty: boolean;
}

/**
 * Reads an existing output: the files it records, after cutting off a trailing partial record.
 * Checks that it was written in the same mode (labels vs embeddings, CSV columns).
 */
export async function readExisting(out: string, format: OutputFormat, header: string[], embed: boolean, warn: (m: string) => void): Promise<Resume> {
  const done = new Set<string>();
  let size: number;
  try {
    const st = await fsp.stat(out);
    // A device or FIFO as --out (e.g. /dev/full) has nothing to resume from and may never end.
    if (!st.isFile()) return { done, empty: true };
    size = st.size;
  } catch {
    return { done, empty: true };
  }
  let offset = 0;
  let lastEnd = 0;
  let inQuotes = false;
  let pending: Buffer[] = [];
  let recordIndex = 0;
  let damaged = 0;
  const handle = (text: string): void => {
    const index = recordIndex++;
    if (text.trim() === '') return;
    if (format === 'csv') {
      const fields = parseCsvRecord(text.replace(/\r$/, ''));
      if (index === 0) {
        if (fields.join(',') !== header.join(','))
          fail('ERR_INVALID_ARGUMENT', `${out} has the columns ${fields.slice(0, 6).join(',')}${fields.length > 6 ? ',…' : ''}; this run writes ${header.slice(0, 6).join(',')}${header.length > 6 ? ',…' : ''} (same --embed/--topk/model needed to resume, or choose another --out)`);
        return;
      }
      if (fields.length === header.length && fields[0] !== '') {
        if (!RETRIED_CODES.has(fields[1])) done.add(path.resolve(fields[0]));
      } else damaged++;
      return;
    }
    let rec: { file?: unknown; top?: unknown; embedding?: unknown; error?: unknown };
    try {
      rec = JSON.parse(text);
    } catch {
      damaged++;
      return;
    }
    if (!rec || typeof rec.file !== 'string') {
      damaged++;
      return;
    }
    if ((embed && rec.top !== undefined) || (!embed && rec.embedding !== undefined))
      fail('ERR_INVALID_ARGUMENT', `${out} holds ${embed ? 'top-k labels' : 'embeddings'} but this run writes ${embed ? 'embeddings (--embed)' : 'top-k labels'}; choose another --out`);
    const code = (rec.error as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !RETRIED_CODES.has(code)) done.add(path.resolve(rec.file));
  };
  // Only the bytes there at the start: the stat'ed size bounds the read.
  for await (const chunk of (size > 0 ? fs.createReadStream(out, { start: 0, end: size - 1 }) : []) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      // Byte-level scan is safe for UTF-8: '"' and '\n' never occur inside multi-byte characters.
      if (format === 'csv' && b === 0x22) inQuotes = !inQuotes;
      else if (b === 0x0a && !inQuotes) {
        pending.push(chunk.subarray(start, i));
        handle(Buffer.concat(pending).toString('utf8'));
        pending = [];
        start = i + 1;
        lastEnd = offset + i + 1;
      }
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
    offset += chunk.length;
  }
  if (lastEnd < size) {
    warn(`${out}: removed a partial last record (${size - lastEnd} bytes) left by an interrupted run`);
    await fsp.truncate(out, lastEnd);
  }
  if (damaged > 0) warn(`${out}: ${damaged} damaged record(s) ignored; their files will be processed again`);
  return { done, empty: lastEnd === 0 };
}

export function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof MobileNetError) return { code: e.code, message: e.message };
  const err = e as Error & { code?: unknown };
  return { code: typeof err?.code === 'string' ? err.code : 'ERR_NATIVE', message: err?.message ?? String(e) };
}

/** One output record: the top-k labels, the pooled features, or why the image has neither. */
export type BatchRecord =
  | { file: string; top: ClassScore[] }
  | { file: string; embedding: ArrayLike<number> }
  | { file: string; error: { code: string; message: string } };

/** The record as one line of the output (with its '\n'); `columns` is the CSV header's length. */
export function formatRecord(format: OutputFormat, columns: number, rec: BatchRecord): string {
  if ('error' in rec) {
    const { error } = rec;
    if (format === 'jsonl') return JSON.stringify({ file: rec.file, error }) + '\n';
    return [rec.file, error.code, error.message.replace(/[\r\n]+/g, ' '), ...new Array(columns - 3).fill('')].map(csvField).join(',') + '\n';
  }
  if ('top' in rec) {
    const top = rec.top;
    if (format === 'jsonl') return JSON.stringify({ file: rec.file, top: top.map((s) => ({ className: s.className, classIndex: s.classIndex, probability: f32(s.probability) })) }) + '\n';
    return [rec.file, '', '', ...top.flatMap((s) => [s.className, s.classIndex, f32(s.probability)])].map(csvField).join(',') + '\n';
  }
  const values = Array.from(rec.embedding, f32);
  if (format === 'jsonl') return JSON.stringify({ file: rec.file, embedding: values }) + '\n';
  return [rec.file, '', '', ...values].map(csvField).join(',') + '\n';
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
 * `batchSize` at a time. `emit` gets the records of each forward pass, or of one image that failed
 * to decode; a bad image is an error record, never a thrown error.
 */
export async function runPipeline(next: () => Promise<PipelineImage | undefined>, opts: PipelineOptions, emit: (records: BatchRecord[]) => void): Promise<void> {
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
    for (let image = await next(); image !== undefined; image = await next()) {
      const { batch, row, data, offset } = await slots.claim(image.file);
      try {
        const bytes = typeof image.input === 'string' ? await readImageFile(image.input) : Buffer.from(image.input as Uint8Array);
        await guard.decode(bytes, (raster, timeoutSeconds) => model.prepare(raster, { ...prepare, timeoutSeconds, out: data, offset }), model.maxPixels);
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
  let fd: number;
  try {
    fd = fs.openSync(out, 'a');
  } catch (e) {
    return fail('ERR_INVALID_ARGUMENT', `cannot open ${out} for appending: ${(e as Error).message}`, e);
  }
  // The first write error (ENOSPC, EIO, …) stops the job: no more files are taken, and runBatch
  // rejects with ERR_WRITE once the images in flight are dropped. Resume recovers what was written.
  let writeFailure: MobileNetError | undefined;
  const write = (line: string): void => {
    if (writeFailure) return;
    try {
      fs.writeSync(fd, line);
    } catch (e) {
      writeFailure = new MobileNetError('ERR_WRITE', `cannot write to ${out}: ${(e as Error).message}; the records written so far are kept, re-run the same command to resume once there is room`, { cause: e });
    }
  };
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
      if (writeFailure) return undefined;
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
    try {
      fs.fsyncSync(fd);
    } catch (e) {
      writeFailure ??= new MobileNetError('ERR_WRITE', `cannot flush ${out} to disk: ${(e as Error).message}`, { cause: e });
    } finally {
      fs.closeSync(fd);
    }
  }
  if (writeFailure) throw writeFailure;
  report();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...progress, seconds, stopped, out, format };
}
