/**
 * `npm run bench:input-copy [-- <other addon.node>]`: what copying infer()'s input at submit costs.
 * Times the synchronous part of infer() (argument checks, the copy and finite check, the submit) and
 * the whole call, α=1/224, batch 1 and 32, in child processes that alternate between this build and
 * another addon (default: none; pass e.g. ../main/build/Release/mobilenet_native.node, which borrows
 * the caller's buffer) so that both are measured in the same minutes of a shared machine.
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

const R = 224;

async function child(): Promise<void> {
  const { load } = await import('../lib');
  const model = await load({ weights: 'random', alpha: 1, resolution: R, seed: 1 });
  const out: Record<string, { syncUs: number; totalMs: number }> = {};
  for (const batch of [1, 32]) {
    const x = new Float32Array(batch * R * R * 3).fill(0.5);
    const shape = [batch, R, R, 3];
    for (let i = 0; i < 3; i++) await model.infer(x, shape);
    const sync: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < (batch === 1 ? 60 : 8); i++) {
      const t0 = process.hrtime.bigint();
      const p = model.infer(x, shape);
      const t1 = process.hrtime.bigint();
      await p;
      const t2 = process.hrtime.bigint();
      sync.push(Number(t1 - t0) / 1e3);
      total.push(Number(t2 - t0) / 1e6);
    }
    const median = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1];
    out[batch] = { syncUs: median(sync), totalMs: median(total) };
  }
  model.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}

function parent(): void {
  const other = process.argv[2];
  const builds: Array<[string, string | undefined]> = [['this build (copies)', undefined]];
  if (other) builds.push([`${other}`, path.resolve(other)]);
  const rows: Record<string, Array<Record<string, { syncUs: number; totalMs: number }>>> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, addon] of builds) {
      const env = { ...process.env, MOBILENET_INPUT_COPY_CHILD: '1' } as NodeJS.ProcessEnv;
      if (addon) env.MOBILENET_NATIVE_PATH = addon;
      const r = spawnSync(process.execPath, [__filename], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      (rows[name] ??= []).push(JSON.parse(r.stdout));
    }
  }
  console.log(`CPU: ${os.cpus()[0]?.model} × ${os.cpus().length}; α=1/224, medians per process, 3 alternating processes each`);
  for (const [name, runs] of Object.entries(rows)) {
    for (const batch of ['1', '32']) {
      const sync = runs.map((r) => r[batch].syncUs.toFixed(0)).join(' / ');
      const total = runs.map((r) => r[batch].totalMs.toFixed(1)).join(' / ');
      console.log(`${name}, batch ${batch}: synchronous part ${sync} µs; whole call ${total} ms`);
    }
  }
}

if (process.env.MOBILENET_INPUT_COPY_CHILD) void child();
else parent();
