/**
 * Attacks on infer()'s input: buffers that JavaScript shrinks, transfers, shares or rewrites while
 * the engine runs, and values that are not numbers. None may crash the process or change a result.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { load, MobileNet } from '../lib';
import { rejection } from './helpers/errors';
import { uniformImages } from './helpers/random';

const CHILD = path.join(__dirname, 'helpers', 'hostile-input-child.js');

/** Runs one case in a child process: a crash there is a failed test here, not a dead mocha. */
function attackInChild(kind: string): { diff: number; diffAgain: number; length: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, kind], { encoding: 'utf8', timeout: 240_000 });
  expect(r.signal, `the child died of ${r.signal}; stderr: ${r.stderr}`).to.equal(null);
  expect(r.status, `exit ${r.status}; stderr: ${r.stderr}`).to.equal(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

describe('attack: infer() input', function () {
  this.timeout(300_000);
  const R = 128;
  let model: MobileNet;
  const x = uniformImages(2, R, 3);
  let expected: Float32Array;

  before(async () => {
    model = await load({ weights: 'random', alpha: 0.5, resolution: R, seed: 4 });
    expected = await model.infer(x.slice(), [2, R, R, 3]);
  });
  after(() => model.dispose());

  for (const kind of ['resize', 'transfer', 'shared-write']) {
    const what = { resize: 'a resizable ArrayBuffer shrunk to 0 bytes', transfer: 'a buffer transferred with structuredClone and collected', 'shared-write': 'a SharedArrayBuffer overwritten' }[kind];
    it(`survives ${what} while infer() runs, and the result is the untouched input's`, () => {
      const r = attackInChild(kind);
      expect(r.length).to.equal(4 * 1000);
      expect(r.diff).to.equal(0);
      expect(r.diffAgain).to.equal(0);
    });
  }

  it('is not changed by writes to the input right after the call', async () => {
    for (let round = 0; round < 5; round++) {
      const input = x.slice();
      const pending = model.infer(input, [2, R, R, 3]);
      input.fill(round % 2 ? 1 : -1);
      expect(await pending).to.deep.equal(expected);
    }
  });

  it('is not changed by writes after setImmediate, while the pass runs', async () => {
    for (let round = 0; round < 5; round++) {
      const input = x.slice();
      const pending = model.infer(input, [2, R, R, 3]);
      await new Promise((r) => setImmediate(r));
      input.fill(0.25);
      expect(await pending).to.deep.equal(expected);
    }
  });

  it('runs a Float32Array on a SharedArrayBuffer like any other', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(x.byteLength));
    shared.set(x);
    expect(await model.infer(shared, [2, R, R, 3])).to.deep.equal(expected);
  });

  it('rejects an input detached before the call with ERR_SHAPE', async () => {
    const input = x.slice();
    structuredClone(input.buffer as ArrayBuffer, { transfer: [input.buffer as ArrayBuffer] });
    expect((await rejection(model.infer(input, [2, R, R, 3]))).code).to.equal('ERR_SHAPE');
  });

  for (const [name, value] of [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]] as const) {
    it(`rejects an input holding ${name} with ERR_INVALID_ARGUMENT naming where, and stays usable`, async () => {
      const input = x.slice();
      input[R * R * 3 + 17] = value;
      const err = await rejection(model.infer(input, [2, R, R, 3]));
      expect(err.code).to.equal('ERR_INVALID_ARGUMENT');
      expect(err.message).to.include(`input value ${R * R * 3 + 17} (image 1)`).and.include('finite');
      expect(await model.infer(x.slice(), [2, R, R, 3])).to.deep.equal(expected);
    });
  }

  it('runs non-finite inputs when allowNonFinite is set', async () => {
    const input = x.slice();
    input[5] = NaN;
    const out = await model.infer(input, [2, R, R, 3], { allowNonFinite: true });
    expect(out.length).to.equal(2000);
    expect((await rejection(model.infer(x, [2, R, R, 3], { allowNonFinite: 'yes' as unknown as boolean }))).code).to.equal('ERR_INVALID_ARGUMENT');
  });

  it('rejects the largest finite float only if it is not finite (FLT_MAX runs)', async () => {
    const input = x.slice();
    input[3] = 3.4028234663852886e38;
    input[4] = -3.4028234663852886e38;
    const out = await model.infer(input, [2, R, R, 3], { output: 'logits' });
    expect(out.length).to.equal(2000);
  });
});
