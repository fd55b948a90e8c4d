/** ChunkPipeline (lib/apps/cluster/chunk-pipeline.ts): one pipeline for every chunk a worker holds. */
import { expect } from 'chai';
import * as path from 'path';
import { ChunkPipeline } from '../lib/apps/cluster/chunk-pipeline';
import { MobileNet } from '../lib/core/model';
import { demoPath } from './helpers/images';

describe('cluster worker: one pipeline for all chunks', function () {
  this.timeout(120000);
  let model: MobileNet;
  before(async () => {
    model = await MobileNet.load({ weights: 'random', seed: 3, alpha: 0.25, resolution: 96, threads: 1 });
  });
  after(() => model.dispose());

  it('gives each chunk its own records, also when two chunks name the same file, and finishes a chunk smaller than a batch', async () => {
    const pipeline = new ChunkPipeline({ model, batchSize: 16, concurrency: 3, topk: 2 });
    const cat = demoPath('chelsea.png'), rocket = demoPath('rocket.jpg');
    const one = pipeline.run([{ file: 'x.jpg', input: cat }, { file: 'y.jpg', input: rocket }]);
    const two = pipeline.run([{ file: 'x.jpg', input: rocket }, { file: 'bad.jpg', input: Buffer.from('not an image') }, { file: 'z.jpg', input: cat }]);
    const [r1, r2] = await Promise.all([one, two]);
    expect(r1.map((r) => r.file).sort()).to.deep.equal(['x.jpg', 'y.jpg']);
    expect(r2.map((r) => r.file).sort()).to.deep.equal(['bad.jpg', 'x.jpg', 'z.jpg']);
    const top = (rs: typeof r1, f: string): number => (rs.find((r) => r.file === f) as { top: Array<{ classIndex: number }> }).top[0].classIndex;
    expect(top(r1, 'x.jpg'), 'x.jpg of chunk 1 is chelsea').to.equal(top(r2, 'z.jpg'));
    expect(top(r2, 'x.jpg'), 'x.jpg of chunk 2 is the rocket').to.equal(top(r1, 'y.jpg'));
    expect(r2.find((r) => r.file === 'bad.jpg')).to.have.property('error');
    // A chunk that arrives after the stream ran dry still completes (its part-filled batch is flushed).
    const three = await pipeline.run([{ file: path.basename(cat), input: cat }]);
    expect(three).to.have.length(1);
    await pipeline.close();
    try {
      await pipeline.run([{ file: 'late.jpg', input: cat }]);
      expect.fail('a closed pipeline took a chunk');
    } catch (e) {
      expect((e as Error).message).to.match(/closed/);
    }
  });
});
