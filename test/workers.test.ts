/**
 * The addon in worker_threads: several environments load and run models at once, results equal the
 * main thread's, and workers that exit, call process.exit or are terminated mid-inference take down
 * neither the process nor the other models (the addon's environment cleanup hook).
 */
import { expect } from 'chai';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { load } from '../lib';
import type { LoadOptions } from '../lib';
import { rng } from './helpers/images';

const LIB = path.resolve(__dirname, '..', 'lib');

// The worker's body, run with eval so that the test needs no separate compiled file.
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const { load } = require(${JSON.stringify(LIB)});
(async () => {
  const { options, inputs, count, mode } = workerData;
  const model = await load(options);
  const R = model.arch.resolution;
  if (mode === 'busy') {
    // Keep inferences in flight until the parent kills us.
    const spin = () => model.infer(inputs[0], [1, R, R, 3]).then(spin, () => undefined);
    for (let i = 0; i < 4; i++) spin();
    await new Promise((r) => setTimeout(r, 50));
    parentPort.postMessage({ busy: true });
    if (workerData.exitWhileBusy) process.exit(0);
    return;
  }
  const outputs = new Array(count);
  let next = 0;
  // Four calls in flight at a time, so the executor also batches inside the worker.
  const lane = async () => { while (next < count) { const i = next++; outputs[i] = await model.infer(inputs[i % inputs.length], [1, R, R, 3]); } };
  await Promise.all([lane(), lane(), lane(), lane()]);
  parentPort.postMessage({ outputs, stats: model.stats() });
  model.dispose();
})().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); process.exitCode = 3; });
`;

function makeInputs(resolution: number, seed: number, n: number): Float32Array[] {
  const random = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: resolution * resolution * 3 }, () => random() * 2 - 1));
}

interface WorkerRun {
  worker: Worker;
  exit: Promise<number>;
  messages: unknown[];
  firstMessage: Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function startWorker(workerData: object): WorkerRun {
  const worker = new Worker(WORKER, { eval: true, workerData });
  const messages: unknown[] = [];
  let errored: Error | undefined;
  const firstMessage = new Promise<any>((resolve, reject) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    worker.on('message', (m) => {
      messages.push(m);
      resolve(m);
    });
    worker.on('error', (e) => {
      errored = e;
      reject(e);
    });
  });
  firstMessage.catch(() => undefined);
  const exit = new Promise<number>((resolve, reject) => worker.on('exit', (code) => (errored ? reject(errored) : resolve(code))));
  return { worker, exit, messages, firstMessage };
}

describe('worker_threads: the addon in several JavaScript environments', function () {
  this.timeout(300_000);

  it('runs 4 workers with their own models, 100 inferences each, equal to the main thread, and exits cleanly', async () => {
    const configs: LoadOptions[] = [
      { weights: 'random', alpha: 0.25, resolution: 128, seed: 1, threads: 1 },
      { weights: 'random', alpha: 0.25, resolution: 128, seed: 2, threads: 1 },
      { weights: 'random', alpha: 0.25, resolution: 128, seed: 3, classes: 10, threads: 1 },
      { threads: 1 }, // the bundled α=0.25/224 model
    ];
    const count = 100;
    const inputs = configs.map((c, k) => makeInputs(c.resolution ?? 224, 100 + k, 5));
    const runs = configs.map((options, k) => startWorker({ options, inputs: inputs[k], count }));
    const results = await Promise.all(runs.map((r) => r.firstMessage));
    const codes = await Promise.all(runs.map((r) => r.exit));
    expect(codes).to.deep.equal([0, 0, 0, 0]);

    for (let k = 0; k < configs.length; k++) {
      const res = results[k] as { outputs?: Float32Array[]; error?: string; stats: { images: number } };
      expect(res.error, res.error).to.equal(undefined);
      expect(res.outputs).to.have.length(count);
      expect(res.stats.images).to.equal(count);
      const model = await load(configs[k]);
      try {
        const R = model.arch.resolution;
        const want = await Promise.all(inputs[k].map((x) => model.infer(x, [1, R, R, 3])));
        for (let i = 0; i < count; i++) {
          const got = res.outputs![i];
          const exp = want[i % want.length];
          expect(got).to.be.instanceOf(Float32Array);
          expect(got.length).to.equal(model.arch.classes);
          let worst = 0;
          for (let j = 0; j < exp.length; j++) worst = Math.max(worst, Math.abs(got[j] - exp[j]));
          expect(worst, `worker ${k}, inference ${i}`).to.be.below(1e-5);
        }
        // The configurations really differ, so equality above is not vacuous.
        if (k === 1) expect(Array.from(results[0].outputs[0].slice(0, 5))).to.not.deep.equal(Array.from(res.outputs![0].slice(0, 5)));
      } finally {
        model.dispose();
      }
    }
  });

  it('survives workers terminated or exiting with inferences in flight, while the main thread keeps inferring', async () => {
    const main = await load({ weights: 'random', alpha: 0.25, resolution: 128, seed: 9, threads: 1 });
    const x = makeInputs(128, 7, 1)[0];
    const expected = await main.infer(x, [1, 128, 128, 3]);
    let mainRuns = 0;
    let stop = false;
    const mainLoop = (async () => {
      while (!stop) {
        const y = await main.infer(x, [1, 128, 128, 3]);
        expect(y).to.deep.equal(expected);
        mainRuns++;
      }
    })();
    try {
      for (let round = 0; round < 12; round++) {
        const exitWhileBusy = round % 3 === 2;
        const run = startWorker({ options: { weights: 'random', alpha: 0.25, resolution: 128, seed: round, threads: 1 }, inputs: [x], count: 0, mode: 'busy', exitWhileBusy });
        const msg = await run.firstMessage;
        expect(msg.busy).to.equal(true);
        if (exitWhileBusy) {
          expect(await run.exit).to.equal(0);
        } else {
          await run.worker.terminate();
          expect(await run.exit).to.equal(1); // terminate()'s documented exit code
        }
      }
    } finally {
      stop = true;
      await mainLoop;
      main.dispose();
    }
    expect(mainRuns).to.be.greaterThan(0);
  });
});
