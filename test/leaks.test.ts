/**
 * Short leak check (the long one is `npm run soak`): batch-1 inferences and load/dispose cycles in a
 * child process with --expose-gc, RSS growth after warm-up under 20 MB.
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
}

describe('leaks: RSS stays flat over many inferences and load/dispose cycles', function () {
  this.timeout(300_000);

  it('grows less than 20 MB over 2 000 inferences and 200 load/dispose cycles', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', SOAK, '--inferences', '2000', '--cycles', '200'], { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const phases = out.trim().split('\n').map((l) => JSON.parse(l) as Phase);
    expect(phases.map((p) => p.phase)).to.deep.equal(['inferences', 'load-dispose']);
    for (const p of phases) {
      expect(p.growthMB, JSON.stringify(p)).to.be.below(20);
      expect(p.heapUsedGrowthMB, JSON.stringify(p)).to.be.below(5);
    }
  });
});
