/**
 * Top-1 / top-5 accuracy of a model on a folder of images described by a `labels.tsv`
 * (header `file<TAB>class_index…`, class_index in ImageNet-1k 0..999 numbering).
 *
 * Class numbering: `classify()` already reports ImageNet 0..999 indices for 1000-class (Keras)
 * and 1001-class (TF-slim, background at 0) models alike (see lib/core/labels.ts), so labels compare
 * directly with either kind.
 */
import * as fs from 'fs';
import * as path from 'path';
import { describe, fail, LIMITS, validate as v, type Preprocess, type MobileNet } from '../core';

export interface LabelledImage {
  file: string;
  classIndex: number;
}

export interface AccuracyOptions {
  preprocess?: Preprocess;
  /** Images per classify() call: bounds memory while still letting the engine batch (default 16). */
  chunk?: number;
  /** Evaluate only the first `limit` images of labels.tsv (default: all). */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AccuracyResult {
  top1: number;
  top5: number;
  correct1: number;
  correct5: number;
  count: number;
  preprocess: Preprocess;
}

/** Reads and checks `<folder>/labels.tsv`; every listed file must exist. */
export function readLabelledFolder(folder: string): LabelledImage[] {
  if (typeof folder !== 'string' || folder.length === 0)
    fail('ERR_INVALID_ARGUMENT', `folder must be a non-empty path string, got ${describe(folder)}`);
  const tsv = path.join(folder, 'labels.tsv');
  if (!fs.existsSync(tsv))
    fail('ERR_INVALID_ARGUMENT', `expected a labels file ${tsv} (header "file<TAB>class_index"), but it does not exist`);
  const lines = fs.readFileSync(tsv, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) fail('ERR_INVALID_ARGUMENT', `${tsv} is empty; expected a header "file<TAB>class_index" and rows`);
  const header = lines[0].split('\t');
  const fileCol = header.indexOf('file');
  const classCol = header.indexOf('class_index');
  if (fileCol < 0 || classCol < 0)
    fail('ERR_INVALID_ARGUMENT', `${tsv}: expected header columns "file" and "class_index", got ${JSON.stringify(header)}`);
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split('\t');
    const file = cells[fileCol];
    const classIndex = Number(cells[classCol]);
    if (!file || !Number.isInteger(classIndex) || classIndex < 0)
      fail('ERR_INVALID_ARGUMENT', `${tsv} line ${i + 2}: expected a file name and an integer class_index ≥ 0, got ${JSON.stringify(line)}`);
    const full = path.join(folder, file);
    if (!fs.existsSync(full)) fail('ERR_INVALID_ARGUMENT', `${tsv} line ${i + 2}: image ${full} does not exist`);
    return { file: full, classIndex };
  });
  if (rows.length === 0) fail('ERR_INVALID_ARGUMENT', `${tsv} lists no images (only a header)`);
  return rows;
}

/** Runs `model.classify` over the labelled folder in chunks and counts top-1 / top-5 hits. */
export async function evaluateAccuracy(model: MobileNet, folder: string, options: AccuracyOptions = {}): Promise<AccuracyResult> {
  const preprocess = v.preprocess(options.preprocess ?? 'tfjs');
  const chunk = v.int(options.chunk ?? 16, 'chunk', 1, LIMITS.maxBatch);
  v.optional(options.limit, (l) => v.int(l, 'limit', 1));
  const images = readLabelledFolder(folder).slice(0, options.limit);
  const topk = Math.min(5, model.arch.classes);
  let correct1 = 0;
  let correct5 = 0;
  for (let i = 0; i < images.length; i += chunk) {
    const part = images.slice(i, i + chunk);
    const results = await model.classify(part.map((p) => p.file), { topk, preprocess });
    results.forEach((scores, j) => {
      const want = part[j].classIndex;
      if (scores[0]?.classIndex === want) correct1++;
      if (scores.some((s) => s.classIndex === want)) correct5++;
    });
    options.onProgress?.(Math.min(i + chunk, images.length), images.length);
  }
  const count = images.length;
  return { top1: correct1 / count, top5: correct5 / count, correct1, correct5, count, preprocess };
}
