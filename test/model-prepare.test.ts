/** model.prepare(): the one way apps turn images into input rows, honouring load()'s preprocess, decode and maxPixels. */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { load } from '../lib';
import { runBatch } from '../lib/apps/batch';
import { prepareImage } from '../lib/core/image';
import { rejection } from './helpers/errors';
import { demoPath } from './helpers/images';

describe('model.prepare (lib/core/model.ts)', function () {
  const R = 64;
  const size = R * R * 3;

  it("uses the model's preprocess, bit-identical to prepareImage with the same options", async () => {
    const model = await load({ weights: 'random', resolution: R, preprocess: 'center-crop' });
    try {
      const want = await prepareImage(demoPath('chelsea.png'), { resolution: R, preprocess: 'center-crop', decode: model.decode });
      expect(Buffer.from((await model.prepare(demoPath('chelsea.png'))).buffer)).to.deep.equal(Buffer.from(want.buffer));
      const tfjs = await prepareImage(demoPath('chelsea.png'), { resolution: R, preprocess: 'tfjs', decode: model.decode });
      expect(Buffer.from((await model.prepare(demoPath('chelsea.png'), { preprocess: 'tfjs' })).buffer)).to.deep.equal(Buffer.from(tfjs.buffer));
    } finally {
      model.dispose();
    }
  });

  it('writes into a batch row with out/offset, and takes an array as a batch', async () => {
    const model = await load({ weights: 'random', resolution: R });
    try {
      const one = await model.prepare(demoPath('chelsea.png'));
      const out = new Float32Array(2 * size);
      expect(await model.prepare(demoPath('chelsea.png'), { out, offset: size })).to.equal(out);
      expect(Array.from(out.subarray(0, size)).every((x) => x === 0)).to.equal(true);
      expect(Buffer.from(out.slice(size).buffer)).to.deep.equal(Buffer.from(one.buffer));
      const batch = await model.prepare([demoPath('chelsea.png'), demoPath('chelsea.png')]);
      expect(Buffer.from(batch.buffer)).to.deep.equal(Buffer.from(new Float32Array([...one, ...one]).buffer));
      expect((await rejection(model.prepare(demoPath('chelsea.png'), { out: new Float32Array(size - 1) }))).code).to.equal('ERR_SHAPE');
      expect((await rejection(model.prepare(demoPath('chelsea.png'), { topk: 1 } as never))).code).to.equal('ERR_INVALID_ARGUMENT');
    } finally {
      model.dispose();
    }
  });

  it("enforces load({ maxPixels }); a caller's limit only tightens it; runBatch honours it", async () => {
    const model = await load({ weights: 'random', resolution: R, maxPixels: 451 * 300 - 1 });  // chelsea.png is 451×300
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prepare-'));
    try {
      expect(model.maxPixels).to.equal(451 * 300 - 1);
      expect((await rejection(model.prepare(demoPath('chelsea.png')))).code).to.equal('ERR_IMAGE_TOO_LARGE');
      expect((await rejection(model.prepare(demoPath('chelsea.png'), { maxPixels: 1e9 }))).code).to.equal('ERR_IMAGE_TOO_LARGE');
      const out = path.join(dir, 'out.jsonl');
      await runBatch({ input: demoPath('chelsea.png'), out, model });
      const rec = JSON.parse(fs.readFileSync(out, 'utf8').trim()) as { error?: { code: string } };
      expect(rec.error?.code).to.equal('ERR_IMAGE_TOO_LARGE');
    } finally {
      model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
