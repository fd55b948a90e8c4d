/**
 * The peer of `mobilenet batch` in bench:pipeline: the script a user would write in an afternoon with
 * sharp and onnxruntime-node. sharp decodes (shrinking JPEGs on load) and squash-resizes to R×R with
 * its 'linear' kernel, JS scales to [-1, 1], and onnxruntime runs batches of 32 while the next chunk
 * decodes. Writes one JSON line per image (top-5), like `mobilenet batch`.
 *
 *   node dist/bench/peer-script.js <dir> <model.onnx> <out.jsonl> [threads]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const R = 224;
const BATCH = 32;

async function prepare(files: string[]): Promise<Float32Array> {
  const size = R * R * 3;
  const out = new Float32Array(files.length * size);
  await Promise.all(files.map(async (file, i) => {
    const pixels = await sharp(file).autoOrient().toColourspace('srgb').removeAlpha()
      .resize(R, R, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    for (let j = 0, o = i * size; j < size; j++, o++) out[o] = pixels[j] / 127.5 - 1;
  }));
  return out;
}

function top5(probs: Float32Array, row: number, classes: number): Array<{ classIndex: number; probability: number }> {
  const idx = Array.from({ length: classes }, (_, k) => k);
  const p = probs.subarray(row * classes, (row + 1) * classes);
  return idx.sort((a, b) => p[b] - p[a]).slice(0, 5).map((k) => ({ classIndex: k, probability: p[k] }));
}

async function main(): Promise<void> {
  const [dir, model, outFile, threads] = process.argv.slice(2);
  const files = fs.readdirSync(dir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().map((f) => path.join(dir, f));
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(threads ?? 0), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const fd = fs.openSync(outFile, 'w');
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH) chunks.push(files.slice(i, i + BATCH));
  let next = chunks.length > 0 ? prepare(chunks[0]) : undefined;
  for (let c = 0; c < chunks.length; c++) {
    const input = await next!;
    next = c + 1 < chunks.length ? prepare(chunks[c + 1]) : undefined;
    const n = chunks[c].length;
    const result = await session.run({ input: new ort.Tensor('float32', input, [n, R, R, 3]) }, ['probabilities']);
    const probs = result.probabilities.data as Float32Array;
    const classes = probs.length / n;
    let lines = '';
    for (let i = 0; i < n; i++) lines += JSON.stringify({ file: chunks[c][i], top: top5(probs, i, classes) }) + '\n';
    fs.writeSync(fd, lines);
  }
  fs.closeSync(fd);
  await session.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
