/**
 * Run as a child process by test/attack-input.test.ts (`node --expose-gc <this> <case>`), so that a
 * regression that crashes the process inside the engine fails one test instead of killing mocha.
 * Prints one JSON line: { same: max |difference| from the untouched input's result }.
 */
import { load } from '../../lib';
import { uniformImages } from './random';

const R = 224;
const SIZE = R * R * 3;

/** The resizable ArrayBuffer API of ES2024 (Node ≥ 20), which the ES2022 typings lack. */
type Resizable = ArrayBuffer & { resize(n: number): void };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable;

async function main(kind: string): Promise<void> {
  // α=1/224: the longest pass, so the input is pulled away while the engine still reads it.
  const model = await load({ weights: 'random', alpha: 1, resolution: R, seed: 5 });
  const batch = 4;
  const source = uniformImages(batch, R, 9);
  const expected = await model.infer(source.slice(), [batch, R, R, 3]);
  let pending: Promise<Float32Array>;
  if (kind === 'resize') {
    const rab = new ResizableArrayBuffer(batch * SIZE * 4, { maxByteLength: batch * SIZE * 4 });
    const input = new Float32Array(rab);
    input.set(source);
    pending = model.infer(input, [batch, R, R, 3]);
    rab.resize(0);
  } else if (kind === 'transfer') {
    let input: Float32Array | undefined = source.slice();
    pending = model.infer(input, [batch, R, R, 3]);
    const buffer = input.buffer as ArrayBuffer;
    let moved: ArrayBuffer | undefined = structuredClone(buffer, { transfer: [buffer] });
    if (input.length !== 0) throw new Error('the buffer was not detached');
    moved = undefined;
    input = undefined;
    void moved;
    for (let i = 0; i < 5; i++) (global as unknown as { gc(): void }).gc();
  } else if (kind === 'shared-write') {
    const input = new Float32Array(new SharedArrayBuffer(batch * SIZE * 4));
    input.set(source);
    pending = model.infer(input, [batch, R, R, 3]);
    input.fill(-1);
  } else {
    throw new Error(`unknown case ${kind}`);
  }
  const got = await pending;
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - expected[i]));
  // The model must still work after the attack.
  const again = await model.infer(source.slice(), [batch, R, R, 3]);
  let diffAgain = 0;
  for (let i = 0; i < again.length; i++) diffAgain = Math.max(diffAgain, Math.abs(again[i] - expected[i]));
  model.dispose();
  process.stdout.write(JSON.stringify({ diff, diffAgain, length: got.length }) + '\n');
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(2);
});
