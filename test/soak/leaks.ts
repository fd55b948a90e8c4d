/**
 * Leak soak, run in its own process with --expose-gc: many batch-1 inferences on one model, then
 * many load/dispose cycles. Prints one JSON line per phase with RSS after warm-up and at the end
 * (both after a full GC). `npm run soak` runs the long version; test/leaks.test.ts a short one.
 *
 *   node --expose-gc dist/test/soak/leaks.js [--inferences 10000] [--cycles 1000] [--warm-cycles 200]
 *
 * Warm-up matters for load/dispose: RSS rises by ~80 MB over the first ~200 cycles and then stays
 * flat (measured to 1 000 cycles). The steps coincide with V8 growing its committed heap
 * (heapTotal 16 → 40 MB while heapUsed stays at 6 MB) and glibc keeping freed blocks; they do not
 * change with MALLOC_ARENA_MAX=1 or ONEDNN_PRIMITIVE_CACHE_CAPACITY=0. So growth is measured after
 * 200 warm-up cycles, and heapUsed is reported too, to tell a JS leak from a native one.
 */
import { load } from '../../lib';

const args = process.argv.slice(2);
function arg(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

/**
 * RSS, JS heap and memory outside it (external: ArrayBuffers such as results) in MB, after the JS heap
 * is collected and disposed executors have had time to exit.
 */
async function settled(): Promise<Sample> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 50));
  }
  const u = process.memoryUsage();
  return { rss: u.rss / 1048576, heapUsed: u.heapUsed / 1048576, external: u.external / 1048576 };
}

const OPTIONS = { weights: 'random', alpha: 0.25, resolution: arg('resolution', 128), seed: 1, threads: 1 } as const;

async function inferences(total: number): Promise<void> {
  const model = await load(OPTIONS);
  const R = model.arch.resolution;
  const x = Float32Array.from({ length: R * R * 3 }, (_, i) => Math.sin(i) * 0.9);
  const run = async (n: number): Promise<void> => {
    let next = 0;
    // Two calls in flight, as a server would have; each is still a batch-1 call.
    const lane = async (): Promise<void> => {
      while (next < n) {
        next++;
        await model.infer(x, [1, R, R, 3]);
      }
    };
    await Promise.all([lane(), lane()]);
  };
  const warm = arg('warm-inferences', Math.min(500, Math.ceil(total / 10)));
  await run(warm);
  // RSS growth per window as well as in all: a leak grows every window, a one-off step (an arena or
  // heap segment kept by the allocator) shows in one window only.
  const windows = arg('windows', 1);
  const before = await settled();
  const t0 = Date.now();
  const windowGrowthMB: number[] = [];
  let last = before;
  for (let w = 0; w < windows; w++) {
    await run(Math.round(total / windows));
    const now = await settled();
    windowGrowthMB.push(+(now.rss - last.rss).toFixed(1));
    last = now;
  }
  model.dispose();
  report('inferences', total, before, last, Date.now() - t0, { windowGrowthMB });
}

async function cycles(total: number): Promise<void> {
  const once = async (): Promise<void> => {
    const m = await load(OPTIONS);
    const R = m.arch.resolution;
    await m.infer(new Float32Array(R * R * 3), [1, R, R, 3]);
    m.dispose();
  };
  const warm = arg('warm-cycles', 200);
  for (let i = 0; i < warm; i++) await once();
  const before = await settled();
  const t0 = Date.now();
  for (let i = 0; i < total; i++) await once();
  const after = await settled();
  report('load-dispose', total, before, after, Date.now() - t0);
}

type Sample = { rss: number; heapUsed: number; external: number };
function report(phase: string, count: number, before: Sample, after: Sample, ms: number, extra: object = {}): void {
  const mb = (x: number): number => +x.toFixed(1);
  process.stdout.write(
    JSON.stringify({ phase, count, rssBeforeMB: mb(before.rss), rssAfterMB: mb(after.rss), growthMB: mb(after.rss - before.rss), heapUsedGrowthMB: mb(after.heapUsed - before.heapUsed),
      externalGrowthMB: mb(after.external - before.external), rssBytesPerCall: Math.round(((after.rss - before.rss) * 1048576) / count), ms, ...extra }) + '\n',
  );
}

(async () => {
  await inferences(arg('inferences', 10_000));
  await cycles(arg('cycles', 1_000));
})().catch((e) => {
  process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
  process.exit(1);
});
