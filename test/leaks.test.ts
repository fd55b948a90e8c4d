/**
 * Short leak check (the long one is `npm run soak`): batch-1 inferences and load/dispose cycles in a
 * child process with --expose-gc. RSS takes a one-off step of ~9 MB in the first few thousand calls
 * (allocator arenas, V8 code), so growth is measured over 20 000 calls after 10 000 of warm-up: flat
 * to 0.1–0.8 MB here, and a leak of 256 bytes per call would add 5 MB. Memory outside the JS heap
 * (ArrayBuffers: results kept alive) is bounded separately, since heapUsed does not count it.
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
}

describe('leaks: RSS stays flat over many inferences and load/dispose cycles', function () {
  this.timeout(300_000);

  it('grows less than 4 MB over 20 000 inferences (200 B a call) and 20 MB over 200 load/dispose cycles', async () => {
    const args = ['--expose-gc', SOAK, '--resolution', '32', '--inferences', '20000', '--warm-inferences', '10000', '--cycles', '200'];
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    console.log(out.trim().replace(/^/gm, '      '));
    const phases = out.trim().split('\n').map((l) => JSON.parse(l) as Phase);
    expect(phases.map((p) => p.phase)).to.deep.equal(['inferences', 'load-dispose']);
    const [calls, cycles] = phases;
    expect(calls.growthMB, JSON.stringify(calls)).to.be.below(4);
    expect(cycles.growthMB, JSON.stringify(cycles)).to.be.below(20);
    for (const p of phases) {
      expect(p.heapUsedGrowthMB, JSON.stringify(p)).to.be.below(2);
      expect(p.externalGrowthMB, JSON.stringify(p)).to.be.below(1);
    }
  });
});
