/** BatchSlots (lib/apps/batch-slots.ts): every claimed row ships exactly once, in bounded buffers, whatever the order of settling. */
import { expect } from 'chai';
import { BatchSlots, type FilledBatch } from '../lib/apps/batch-slots';
import { rng } from './helpers/images';

async function run(files: number, batchSize: number, decoders: number, seed: number): Promise<{ shipped: string[][]; failed: string[]; buffers: Set<Float32Array> }> {
  const next = rng(seed);
  const slots = new BatchSlots(2, batchSize, 3);
  const shipped: string[][] = [];
  const failed: string[] = [];
  const buffers = new Set<Float32Array>();
  let fed = 0;
  const decoder = async (): Promise<void> => {
    while (fed < files) {
      const file = `f${fed++}`;
      const { batch, row, data, offset } = await slots.claim(file);
      await new Promise((r) => setTimeout(r, Math.floor(next() * 3)));
      const ok = next() > 0.1;
      if (ok) data.fill(Number(file.slice(1)), offset, offset + 2);
      else failed.push(file);
      slots.settle(batch, row, ok);
    }
  };
  const inference = async (): Promise<void> => {
    for (let b: FilledBatch | undefined = await slots.next(); b; b = await slots.next()) {
      buffers.add(b.data);
      expect(b.files.length).to.be.within(1, batchSize);
      b.files.forEach((f, i) => {
        if (b!.ok[i]) expect(b!.data[i * 2], `${f} is in its own row`).to.equal(Number(f.slice(1)));
      });
      shipped.push(b.files.filter((_, i) => b!.ok[i]));
      await new Promise((r) => setTimeout(r, 1));
      slots.recycle(b);
    }
  };
  const inferring = inference();
  await Promise.all(Array.from({ length: decoders }, decoder));
  slots.close();
  await inferring;
  return { shipped, failed, buffers };
}

describe('batch slots: decoders fill batch rows in place', function () {
  this.timeout(60000);
  for (const [files, batchSize, decoders] of [[100, 4, 9], [37, 16, 4], [1, 16, 4], [0, 8, 2], [64, 1, 3]] as const) {
    it(`${files} files, batches of ${batchSize}, ${decoders} decoders: each image once, in at most 3 buffers`, async () => {
      const { shipped, failed, buffers } = await run(files, batchSize, decoders, files + batchSize);
      const all = [...shipped.flat(), ...failed].sort();
      expect(all).to.deep.equal(Array.from({ length: files }, (_, i) => `f${i}`).sort());
      expect(buffers.size).to.be.at.most(3);
    });
  }
});

describe('batch slots: flush() ships a part-filled batch without closing', function () {
  it('ships the rows claimed so far once settled, and later claims start a new batch', async () => {
    const slots = new BatchSlots(1, 8, 3);
    const a = await slots.claim('a');
    const b = await slots.claim('b');
    slots.flush();
    const c = await slots.claim('c');
    expect(c.batch, 'a claim after flush() goes to a new batch').to.not.equal(a.batch);
    let shipped: FilledBatch | undefined;
    void slots.next().then((x) => (shipped = x));
    slots.settle(a.batch, a.row, true);
    await new Promise((r) => setImmediate(r));
    expect(shipped, 'not before every claimed row is settled').to.equal(undefined);
    slots.settle(b.batch, b.row, true);
    await new Promise((r) => setImmediate(r));
    expect(shipped?.files).to.deep.equal(['a', 'b']);
    slots.settle(c.batch, c.row, true);
    slots.close();
    expect((await slots.next())?.files).to.deep.equal(['c']);
    expect(await slots.next()).to.equal(undefined);
  });
});
