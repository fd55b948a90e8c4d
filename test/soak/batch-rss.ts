/**
 * Soak: a batch job over N images (default 10 000: the 200 samples symlinked over and over) must
 * keep its RSS flat. Not part of `npm test` (minutes long); run:
 *   node dist/test/soak/batch-rss.js [count] [maxGrowthMB]
 * Prints RSS samples and exits 1 when RSS after the warm-up grows by more than maxGrowthMB (default 30).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runBatch } from '../../lib/apps/batch';
import { load } from '../../lib';

const DATA_DIR = path.resolve(process.env.MOBILENET_DATA ?? path.join(__dirname, '..', '..', '..', '..', 'shared', 'data'));

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const maxGrowthMB = Number(process.argv[3] ?? 30);
  const sampleDir = path.join(DATA_DIR, 'images', 'sample');
  const samples = fs.readdirSync(sampleDir).filter((f) => f.endsWith('.jpg')).sort();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-soak-'));
  try {
    const dir = path.join(root, 'images');
    for (let i = 0; i < count; i++) {
      const sub = path.join(dir, String(Math.floor(i / 1000)));
      if (i % 1000 === 0) fs.mkdirSync(sub, { recursive: true });
      fs.symlinkSync(path.join(sampleDir, samples[i % samples.length]), path.join(sub, `${i}.jpg`));
    }
    const model = await load();
    const samplesMB: Array<[number, number, number]> = [];
    let nextSample = 0;
    const summary = await runBatch({
      input: dir,
      out: path.join(root, 'out.jsonl'),
      model,
      onProgress: (p) => {
        if (p.processed >= nextSample) {
          samplesMB.push([p.processed, process.memoryUsage().rss / 2 ** 20, process.memoryUsage().heapUsed / 2 ** 20]);
          nextSample += Math.max(1, Math.floor(count / 20));
        }
      },
    });
    model.dispose();
    samplesMB.push([summary.processed, process.memoryUsage().rss / 2 ** 20, process.memoryUsage().heapUsed / 2 ** 20]);
    for (const [n, mb, heap] of samplesMB) console.log(`${String(n).padStart(7)} images  RSS ${mb.toFixed(1)} MB  JS heap ${heap.toFixed(1)} MB`);
    // The first tenth warms up allocators, sharp's caches and the engine's buffers; after that a
    // leak shows as the last quarter's peak rising above the peak of the tenth-to-half window.
    const peak = (lo: number, hi: number): number => Math.max(...samplesMB.filter(([n]) => n >= lo * count && n <= hi * count).map(([, mb]) => mb));
    const growth = peak(0.75, 1) - peak(0.1, 0.5);
    console.log(`${summary.processed} images, ${summary.errors} errors, ${summary.rate.toFixed(1)} img/s; RSS growth (last-quarter peak − warm peak) ${growth.toFixed(1)} MB (limit ${maxGrowthMB} MB)`);
    if (summary.processed !== count || summary.errors !== 0 || growth > maxGrowthMB) process.exitCode = 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
