/**
 * One engine on one configuration, in its own process so that its peak RSS is its own. Invoked by
 * bench/run.ts as `node dist/bench/engine.js '<ChildArgs JSON>'`; prints one ChildResult JSON line.
 */
import * as path from 'path';
import { benchInput, benchWeights, peakRssMB, timeRuns, type ChildArgs, type ChildResult } from './common';

interface Runner {
  /** Probabilities of n images. */
  run(x: Float32Array, n: number): Promise<Float32Array>;
  /** Our engine only: one call per image, all at once. */
  runConcurrent?(xs: Float32Array[]): Promise<unknown>;
  batches?(): number;
  dispose(): Promise<void> | void;
}

async function makeRunner(a: ChildArgs): Promise<Runner> {
  const weights = benchWeights(a);
  const R = a.resolution;
  switch (a.engine) {
    case 'mobilenet-native': {
      const { load } = await import('../lib');
      const m = await load({ weights, threads: a.threads });
      return {
        run: (x, n) => m.infer(x, [n, R, R, 3]),
        runConcurrent: (xs) => Promise.all(xs.map((x) => m.infer(x, [1, R, R, 3]))),
        batches: () => m.stats().batches ?? 0,
        dispose: () => m.dispose(),
      };
    }
    case 'onnxruntime': {
      const ort = await import('onnxruntime-node');
      const { exportOnnx, ONNX_INPUT } = await import('../lib/apps/export/onnx');
      const session = await ort.InferenceSession.create(exportOnnx(weights), {
        intraOpNumThreads: a.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
      });
      return {
        run: async (x, n) => (await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [n, R, R, 3]) }, ['probabilities'])).probabilities.data as Float32Array,
        dispose: () => session.release(),
      };
    }
    case 'tfjs-wasm':
    case 'tfjs-cpu': {
      const tf = await import('@tensorflow/tfjs');
      const warn = console.warn;
      console.warn = () => undefined;  // the "use tfjs-node" banner
      if (a.engine === 'tfjs-wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(dir + path.sep);
        wasm.setThreadsCount(a.threads);
        await tf.setBackend('wasm');
      } else await tf.setBackend('cpu');
      await tf.ready();
      console.warn = warn;
      const { buildTfjsModel } = await import('./tfjs-model');
      const model = buildTfjsModel(tf, weights);
      return {
        run: async (x, n) => {
          const t = tf.tensor4d(x, [n, R, R, 3]);
          const y = model.predict(t) as import('@tensorflow/tfjs').Tensor;
          const out = (await y.data()) as Float32Array;
          tf.dispose([t, y]);
          return out;
        },
        dispose: () => { model.dispose(); },
      };
    }
  }
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as ChildArgs;
  const R = a.resolution;
  const q = a.quick;
  const slow = a.engine === 'tfjs-cpu' || a.engine === 'tfjs-wasm';
  const one = benchInput(1, R);
  const batch = benchInput(32, R);
  const rssBaselineMB = peakRssMB();
  let t0 = performance.now();
  const runner = await makeRunner(a);
  const loadMs = performance.now() - t0;
  const rssAfterLoadMB = process.memoryUsage().rss / (1024 * 1024);
  t0 = performance.now();
  await runner.run(one, 1);
  const firstMs = performance.now() - t0;

  const result: ChildResult = {
    engine: a.engine, alpha: a.alpha, resolution: R, loadMs, firstMs,
    rssBaselineMB, rssAfterLoadMB, rssPeakMB: 0, probabilities: [],
  };
  result.probabilities = Array.from(await runner.run(batch.subarray(0, a.checkImages * R * R * 3), a.checkImages));
  result.batch1 = await timeRuns(() => runner.run(one, 1), slow
    ? { warmup: 1, minRuns: 3, maxRuns: q ? 5 : 30, maxSeconds: q ? 2 : 4 }
    : { warmup: 5, minRuns: 20, maxRuns: q ? 100 : 400, maxSeconds: q ? 1.5 : 3 });
  if (a.engine !== 'tfjs-cpu') {
    const t = await timeRuns(() => runner.run(batch, 32), slow
      ? { warmup: 1, minRuns: 1, maxRuns: q ? 1 : 3, maxSeconds: 3 }
      : { warmup: 2, minRuns: 5, maxRuns: q ? 10 : 40, maxSeconds: q ? 2 : 4 });
    result.batch32 = { imagesPerSecond: 32000 / t.median, msPerBatch: t };
  }
  if (runner.runConcurrent) {
    // 64 single-image calls on prepared tensors at once: what the executor's micro-batching delivers.
    const xs = Array.from({ length: 64 }, (_, i) => batch.slice((i % 32) * R * R * 3, ((i % 32) + 1) * R * R * 3));
    const before = runner.batches?.() ?? 0;
    const t = await timeRuns(() => runner.runConcurrent!(xs), { warmup: 2, minRuns: 3, maxRuns: q ? 6 : 20, maxSeconds: q ? 2 : 4 });
    result.concurrent64 = { imagesPerSecond: 64000 / t.median, rounds: t.runs + 2, batches: (runner.batches?.() ?? 0) - before };
  }
  await runner.dispose();
  result.rssPeakMB = peakRssMB();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
