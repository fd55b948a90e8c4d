/**
 * Native lifetimes: dispose() while a pass runs, a model collected with calls in flight, engine threads
 * released by dispose(), batch sizes past the native limit.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { load, MobileNet } from '../lib';
import { rejection } from './helpers/errors';
import { uniformImages } from './helpers/random';

/** Threads of this process, from /proc (Linux): executor threads that outlive dispose() show here. */
function threadCount(): number {
  const m = /^Threads:\s+(\d+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no Threads: line in /proc/self/status');
  return Number(m[1]);
}


describe('lifetime: dispose, garbage collection and engine threads', function () {
  this.timeout(120_000);

  it('dispose() while a pass is running lets it finish with the right result, then refuses calls', async () => {
    const m = await load({ weights: 'random', alpha: 1, resolution: 224, seed: 5 });
    const x = uniformImages(16, 224, 3);
    const expected = await m.infer(x, [16, 224, 224, 3], { output: 'logits' });
    const running = m.infer(x, [16, 224, 224, 3], { output: 'logits' });
    // The executor took the job off its queue (queue empty, one call pending): the pass is under way.
    const until = Date.now() + 10_000;
    while (!(m.stats().queueDepth === 0 && m.stats().pending === 1) && Date.now() < until) await new Promise((r) => setImmediate(r));
    expect(m.stats()).to.include({ queueDepth: 0, pending: 1 });
    m.dispose();
    const got = await running;
    expect(Array.from(got)).to.deep.equal(Array.from(expected));
    expect((await rejection(m.infer(x, [16, 224, 224, 3]))).code).to.equal('ERR_DISPOSED');
  });

  it('calls queued before dispose() all finish; none is dropped or refused', async () => {
    const m = await load({ weights: 'random', alpha: 0.25, resolution: 96, seed: 4 });
    const x = uniformImages(2, 96, 8);
    const want = await m.infer(x, [2, 96, 96, 3]);
    const inflight = Array.from({ length: 6 }, () => m.infer(x, [2, 96, 96, 3]));
    m.dispose();
    for (const got of await Promise.all(inflight)) expect(Array.from(got)).to.deep.equal(Array.from(want));
  });

  it('load/dispose cycles leave no engine threads behind', async () => {
    // Disposed models stay referenced, so only dispose() (not the GC's finaliser) can free their threads.
    const kept: MobileNet[] = [];
    const cycle = async (seed: number) => {
      const m = await load({ weights: 'random', alpha: 0.25, resolution: 64, seed });
      await m.infer(uniformImages(1, 64, seed), [1, 64, 64, 3]);
      m.dispose();
      kept.push(m);
    };
    await cycle(0);  // the OpenMP team is created once per process, by the first pass
    await new Promise((r) => setTimeout(r, 50));
    const before = threadCount();
    for (let i = 1; i <= 20; i++) await cycle(i);
    // A disposed model's executor thread exits once it has drained; give the last one a moment.
    const until = Date.now() + 5_000;
    while (threadCount() > before && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(threadCount(), `threads after 20 cycles (was ${before})`).to.be.at.most(before);
    expect(kept.every((m) => m.disposed)).to.equal(true);
  });

  it('a model collected by the GC with calls in flight still answers them, and the process exits', async () => {
    // A child with --expose-gc: no reference to the model remains while its calls run.
    const lib = path.resolve(__dirname, '..', 'lib');
    const script = `
      const { load } = require(${JSON.stringify(lib)});
      (async () => {
        const x = new Float32Array(4 * 96 * 96 * 3).map((_, i) => Math.sin(i));
        let m = await load({ weights: 'random', alpha: 0.25, resolution: 96, seed: 1 });
        const want = Array.from(await m.infer(x, [4, 96, 96, 3]));
        const calls = [1, 2, 3].map(() => m.infer(x, [4, 96, 96, 3]));
        m = undefined;
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
        const got = await Promise.all(calls);
        const same = got.every((g) => g.length === want.length && g.every((v, i) => v === want[i]));
        let idle = await load({ weights: 'random', alpha: 0.25, resolution: 64, seed: 2 });
        idle = undefined;  // collected with nothing pending: its finaliser stops the executor
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
        console.log(JSON.stringify({ same, calls: got.length }));
      })().catch((e) => { console.error(e); process.exit(2); });`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
    expect(JSON.parse(out.trim())).to.deep.equal({ same: true, calls: 3 });
  });

  it('a batch past 65536 is refused with ERR_SHAPE by the library and by the addon itself', async () => {
    const m = await load({ weights: 'random', alpha: 0.25, resolution: 32, classes: 10, seed: 1 });
    try {
      const e = await rejection(m.infer(new Float32Array(0), [65537, 32, 32, 3]));
      expect(e.code).to.equal('ERR_SHAPE');
      expect(e.message).to.match(/65537.*65536/);
      // The addon checks again, below the library (a caller of the native module directly).
      const engine = (m as unknown as { nativeModel: { infer(x: Float32Array, n: number, o: string): Promise<Float32Array> } }).nativeModel;
      for (const n of [65537, 2 ** 31, -1, 0]) {
        const err = await engine.infer(new Float32Array(32 * 32 * 3), n, 'logits').then(() => undefined, (r: Error & { code?: string }) => r);
        expect(err?.code, `batch ${n}`).to.equal('ERR_SHAPE');
      }
      const ok = await m.infer(uniformImages(1, 32, 1), [1, 32, 32, 3]);
      expect(ok.length).to.equal(10);
    } finally {
      m.dispose();
    }
  });
});
