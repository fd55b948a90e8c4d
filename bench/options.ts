/**
 * `npm run bench:options`: two engine configurations A/B in one process — two models with the same
 * random weights, timed in alternating rounds, so a load change on the host lands on both.
 *
 *   node dist/bench/options.js --a '{"layout":"any"}' --b '{"layout":"nChw16c"}' [--alpha 1] [--resolution 224]
 *       [--batch 32] [--rounds 8] [--runs 5] [--threads 2] [--precision fp32]
 *
 * Prints each round's B/A ratio of median pass times and the median ratio. docs/engine-notes.md
 * lists the runs behind the engine's defaults.
 */
import * as os from 'os';
import { load, type EngineOptions, type Precision } from '../lib';
import { randomWeights } from '../lib/core/weights';
import { archOf, benchInput, median } from './common';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function num(name: string, fallback: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} takes a positive number, got '${arg(name, '')}'`);
  return v;
}

async function main(): Promise<void> {
  const alpha = num('alpha', 1), resolution = num('resolution', 224), batch = num('batch', 32);
  const rounds = num('rounds', 8), runs = num('runs', 5), threads = num('threads', 2);
  const precision = arg('precision', 'fp32') as Precision;
  const a = JSON.parse(arg('a', '{}')) as EngineOptions, b = JSON.parse(arg('b', '{}')) as EngineOptions;
  const weights = randomWeights(archOf(alpha, resolution), 1);
  const x = benchInput(batch, resolution);
  const models = [await load({ weights, threads, precision, engine: a }), await load({ weights, threads, precision, engine: b })];
  const shape = [batch, resolution, resolution, 3];
  const pass = async (i: number): Promise<number> => {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = process.hrtime.bigint();
      await models[i].infer(x, shape);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return median(times);
  };
  for (const i of [0, 1]) await pass(i);  // warm: plans built, weights reordered
  const ratios: number[] = [];
  console.log(`${os.cpus()[0].model}, α=${alpha}/${resolution} batch ${batch} ${precision}, ${threads} threads; A=${JSON.stringify(a)} B=${JSON.stringify(b)}`);
  for (let r = 0; r < rounds; r++) {
    const [ta, tb] = r % 2 === 0 ? [await pass(0), await pass(1)] : [await pass(1), await pass(0)].reverse();
    ratios.push(tb / ta);
    console.log(`round ${r + 1}: A ${ta.toFixed(2)} ms  B ${tb.toFixed(2)} ms  B/A ${(tb / ta).toFixed(3)}`);
  }
  console.log(`median B/A ${median(ratios).toFixed(3)} over ${rounds} rounds`);
  for (const m of models) m.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
