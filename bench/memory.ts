/**
 * `npm run bench:memory`: how much resident memory a loaded model adds, against issue 5's budget of
 * 1.5 × its weight bytes + the activations of one batch. A small model is loaded first so that the
 * addon's and oneDNN's own code pages are not charged to the model being measured.
 */
import { execFileSync } from 'child_process';
import { load } from '../lib';

const MB = 2 ** 20;

/** Resident bytes once garbage is collected; V8 frees large ArrayBuffers' stores after the pause, hence the wait. */
async function rss(): Promise<number> {
  const gc = (global as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage().rss;
}

/**
 * Measures one configuration in this process (a fresh one, so earlier models cannot blur the figure).
 * `batches` run one after another (a server sees every batch size up to its largest); the budget
 * counts the activations of the largest.
 */
async function measure(alpha: number, resolution: number, batches: number[]): Promise<void> {
  const warm = await load({ weights: 'random', alpha: 0.25, resolution: 64, seed: 1 });
  await warm.infer(new Float32Array(64 * 64 * 3), [1, 64, 64, 3]);
  const before = await rss();
  const m = await load({ weights: 'random', alpha, resolution, seed: 1 });
  for (const batch of batches)
    await m.infer(new Float32Array(batch * resolution * resolution * 3), [batch, resolution, resolution, 3]);
  const added = ((await rss()) - before) / MB;
  const batch = Math.max(...batches);
  const weights = (m.cost().paramsWithBN * 4) / MB;
  // One batch of activations: the engine alternates two buffers of the largest layer output, plus the input.
  const largest = Math.max(...m.summary().map((r) => r.output[0] * r.output[1] * r.output[2]));
  const activations = (batch * (2 * largest + resolution * resolution * 3) * 4) / MB;
  const budget = 1.5 * weights + activations;
  console.log(
    `α=${alpha}/${resolution} batch ${batches.join(', ')}: +${added.toFixed(1)} MB RSS; weights ${weights.toFixed(1)} MB, ` +
      `activations ${activations.toFixed(1)} MB → budget ${budget.toFixed(1)} MB (${(added / budget).toFixed(2)} of it)`,
  );
  m.dispose();
  warm.dispose();
}

async function main(): Promise<void> {
  const [alpha, resolution, batches] = process.argv.slice(2);
  if (alpha) return measure(Number(alpha), Number(resolution), batches.split(',').map(Number));
  if (!(global as { gc?: () => void }).gc) console.warn('run with node --expose-gc for steadier figures');
  const configs = [[1, 224, '1'], [1, 224, '32'], [1, 224, '1,2,4,8,16,32'], [0.5, 160, '1'], [0.25, 128, '1']];
  for (const config of configs) {
    execFileSync(process.execPath, [...process.execArgv, __filename, ...config.map(String)], { stdio: 'inherit' });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
