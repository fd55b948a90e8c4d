/**
 * Short leak check (the long one is `npm run soak`): batch-1 inferences and load/dispose cycles in a
 * child process with --expose-gc. RSS takes one-off steps of up to ~14 MB (allocator arenas, heap
 * segments; when depends on the build and the Node version), so the 30 000 calls after a 10 000-call
 * warm-up are measured in three windows: a leak grows in every window, a step in one. The smallest
 * window must stay under 1.5 MB (150 B a call; a leak of 256 B a call added 11 MB a window), the
 * whole run under 20 MB. Memory outside the JS heap (ArrayBuffers: results kept alive) is bounded
 * separately, since heapUsed does not count it.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import * as path from 'path';

const SOAK = path.join(__dirname, 'soak', 'leaks.js');

interface Phase {
  phase: string;
  count: number;
  growthMB: number;
  heapUsedGrowthMB: number;
  externalGrowthMB: number;
  windowGrowthMB?: number[];
}

describe('leaks: RSS stays flat over many inferences and load/dispose cycles', function () {
  this.timeout(300_000);

  it('grows less than 1.5 MB in some window of 10 000 inferences (150 B a call) and 20 MB over 200 load/dispose cycles', async () => {
    const args = ['--expose-gc', SOAK, '--resolution', '32', '--inferences', '30000', '--windows', '3', '--warm-inferences', '10000', '--cycles', '200'];
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    console.log(out.trim().replace(/^/gm, '      '));
    const phases = out.trim().split('\n').map((l) => JSON.parse(l) as Phase);
    expect(phases.map((p) => p.phase)).to.deep.equal(['inferences', 'load-dispose']);
    const [calls, cycles] = phases;
    expect(Math.min(...calls.windowGrowthMB!), JSON.stringify(calls)).to.be.below(1.5);
    expect(calls.growthMB, JSON.stringify(calls)).to.be.below(20);
    expect(cycles.growthMB, JSON.stringify(cycles)).to.be.below(20);
    for (const p of phases) {
      expect(p.heapUsedGrowthMB, JSON.stringify(p)).to.be.below(2);
      expect(p.externalGrowthMB, JSON.stringify(p)).to.be.below(1);
    }
  });
});
