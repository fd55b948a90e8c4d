/**
 * Class names for classifier outputs, and top-k selection over one row of scores.
 *
 * Index conventions (the ones callers get wrong most often):
 * - 1000-class models (Keras / TF.js): output i is ImageNet class i.
 * - 1001-class models (TF-slim): output 0 is "background" and output i is ImageNet class i−1.
 *   `topK` reports `classIndex` in ImageNet 0..999 numbering for both, so results from the two
 *   kinds of model compare directly; the background output is reported as classIndex −1.
 * - any other class count (a custom head): names are `class_<i>` and classIndex is the output index.
 */
import * as fs from 'fs';
import * as path from 'path';
import { describe, fail } from './errors';
import { int } from './validate';

const LABELS_RELATIVE_PATH = path.join('assets', 'labels', 'imagenet_simple_labels.json');
const IMAGENET_CLASSES = 1000;

let cachedImagenet: readonly string[] | undefined;
const cachedByCount = new Map<number, readonly string[]>();

/**
 * The package root is found by walking up from this file, because the same code runs as
 * `lib/core/labels.ts` under a TS runner and as `dist/lib/core/labels.js` once compiled or installed.
 */
function findLabelsFile(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, LABELS_RELATIVE_PATH);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return fail(
    'ERR_UNSUPPORTED',
    `the ImageNet label file ${LABELS_RELATIVE_PATH} was not found in any folder above ${__dirname}; ` +
      'the package installation is incomplete (the "assets" folder must ship with it)',
  );
}

function loadImagenet(): readonly string[] {
  if (cachedImagenet) return cachedImagenet;
  const file = findLabelsFile();
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return fail('ERR_UNSUPPORTED', `the ImageNet label file ${file} could not be read as JSON: ${(err as Error).message}`, err);
  }
  if (!Array.isArray(parsed) || parsed.length !== IMAGENET_CLASSES || !parsed.every((s) => typeof s === 'string')) {
    return fail(
      'ERR_UNSUPPORTED',
      `the ImageNet label file ${file} must hold a JSON array of ${IMAGENET_CLASSES} strings, got ${describe(parsed)}`,
    );
  }
  cachedImagenet = Object.freeze(parsed.slice() as string[]);
  return cachedImagenet;
}

function checkClassCount(classes: unknown): asserts classes is number {
  int(classes, 'classes', 1);
}

function labelsShared(classes: number): readonly string[] {
  checkClassCount(classes);
  if (classes === IMAGENET_CLASSES) return loadImagenet();
  let labels = cachedByCount.get(classes);
  if (!labels) {
    labels =
      classes === IMAGENET_CLASSES + 1
        ? Object.freeze(['background', ...loadImagenet()])
        : Object.freeze(Array.from({ length: classes }, (_, i) => `class_${i}`));
    cachedByCount.set(classes, labels);
  }
  return labels;
}

/** The 1000 ImageNet-1k labels in class-index order (a fresh copy; the file is read once). */
export function imagenetLabels(): string[] {
  return loadImagenet().slice();
}

/**
 * Names for each output of a classifier with `classes` outputs: 1000 → ImageNet labels,
 * 1001 → ['background', ...ImageNet labels] (TF-slim), anything else → `class_<i>`.
 */
export function labelsFor(classes: number): string[] {
  return labelsShared(classes).slice();
}

export interface ClassScore {
  /** Human-readable label (see labelsFor). */
  className: string;
  /** ImageNet 0..999 index for 1000- and 1001-class models (background: −1); else the output index. */
  classIndex: number;
  /** The score at that output: a probability when the row is softmax output. */
  probability: number;
}

/**
 * The k highest scores of the row `probs[offset .. offset+classes)`, best first. Ties keep the
 * lower output index first (a stable order), and NaN scores sort after every number, so a
 * broken row is visible at the end instead of reordering the real results.
 * k larger than `classes` returns all of them.
 */
export function topK(probs: Float32Array, offset: number, classes: number, k: number): ClassScore[] {
  if (!(probs instanceof Float32Array)) {
    fail('ERR_DTYPE', `topK expects the scores as a Float32Array, got ${describe(probs)}`);
  }
  checkClassCount(classes);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    fail('ERR_INVALID_ARGUMENT', `offset must be a non-negative integer, got ${describe(offset)}`);
  }
  if (offset + classes > probs.length) {
    fail(
      'ERR_SHAPE',
      `a row of ${classes} scores at offset ${offset} needs ${offset + classes} values, but the array has ${probs.length}`,
    );
  }
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) {
    fail('ERR_INVALID_ARGUMENT', `k (topk) must be a non-negative integer, got ${describe(k)}`);
  }
  const labels = labelsShared(classes);
  const count = Math.min(k, classes);
  // One pass keeping the best `count` in order (k is small): the full sort of 1000 scores per image
  // was the largest cost on the JavaScript thread of a batch job. Scanning in index order and
  // inserting after equal scores keeps ties in output-index order; NaN ranks below every number.
  const better = (pa: number, pb: number): boolean => (Number.isNaN(pb) ? !Number.isNaN(pa) : pa > pb);
  const order: number[] = [];
  for (let i = 0; i < classes; i++) {
    const pi = probs[offset + i];
    if (order.length === count && !better(pi, probs[offset + order[count - 1]])) continue;
    let at = order.length;
    while (at > 0 && better(pi, probs[offset + order[at - 1]])) at--;
    if (at < count) {
      order.splice(at, 0, i);
      if (order.length > count) order.pop();
    }
  }
  const indexShift = classes === IMAGENET_CLASSES + 1 ? 1 : 0;
  const result: ClassScore[] = [];
  for (let r = 0; r < count; r++) {
    const i = order[r];
    result.push({ className: labels[i], classIndex: i - indexShift, probability: probs[offset + i] });
  }
  return result;
}
