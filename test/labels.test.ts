import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { MobileNetError } from '../lib/core/errors';
import { imagenetLabels, labelsFor, topK } from '../lib/core/labels';
import { requireData, SAMPLE_LABELS, SLIM_LABELS } from './helpers/data';
import { rng } from './helpers/images';

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MobileNetError);
    expect((err as MobileNetError).code).to.equal(code);
    return;
  }
  expect.fail(`expected a MobileNetError ${code}`);
}

describe('labels', () => {
  it('loads the 1000 ImageNet labels from the package assets, in class-index order', () => {
    const labels = imagenetLabels();
    expect(labels).to.have.length(1000);
    expect(labels[0]).to.equal('tench');
    expect(labels[999]).to.equal('toilet paper');
    expect(labels.every((l) => typeof l === 'string' && l.length > 0)).to.equal(true);
  });

  it('agrees with the class indices of the sample photos (labels.tsv)', function () {
    const tsv = SAMPLE_LABELS;
    requireData(this, tsv);
    const labels = imagenetLabels();
    const rows = fs.readFileSync(tsv, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(rows.length).to.be.greaterThan(100);
    for (const [, index, , label] of rows) expect(labels[Number(index)]).to.equal(label);
  });

  it('puts background first for 1001 classes, then the 1000 ImageNet labels', () => {
    const l1001 = labelsFor(1001);
    expect(l1001).to.have.length(1001);
    expect(l1001[0]).to.equal('background');
    expect(l1001.slice(1)).to.deep.equal(imagenetLabels());
  });

  // Our names are the short 'simple labels', not slim's synonym lists, so compare the order: our name is
  // one of slim's synonyms for most indices, and for almost none when shifted by one.
  it('is in the order of the TF-slim labels.txt', function () {
    requireData(this, SLIM_LABELS);
    const lines = fs.readFileSync(SLIM_LABELS, 'utf8').trim().split('\n');
    expect(lines).to.have.length(1001);
    lines.forEach((line, i) => expect(line.startsWith(`${i}:`), line).to.equal(true));
    const synonyms = lines.map((l) => l.slice(l.indexOf(':') + 1).toLowerCase().split(', '));
    const ours = labelsFor(1001).map((l) => l.toLowerCase());
    const agree = (shift: number) => ours.filter((name, i) => synonyms[i + shift]?.includes(name)).length;
    console.log(`      our label is a slim synonym for ${agree(0)} of 1001 classes (${agree(1)} when shifted by one)`);
    expect(agree(0)).to.be.above(700);
    expect(agree(1)).to.be.below(50);
  });

  it('names other class counts class_<i>, and rejects invalid counts', () => {
    expect(labelsFor(3)).to.deep.equal(['class_0', 'class_1', 'class_2']);
    expect(labelsFor(1000)).to.deep.equal(imagenetLabels());
    for (const bad of [0, -1, 2.5, NaN, '1000', null]) expectCode(() => labelsFor(bad as number), 'ERR_INVALID_ARGUMENT');
  });

  it('returns copies that callers may modify', () => {
    const a = imagenetLabels();
    a[0] = 'changed';
    labelsFor(1001)[1] = 'changed';
    expect(imagenetLabels()[0]).to.equal('tench');
    expect(labelsFor(1001)[1]).to.equal('tench');
  });
});

describe('topK', () => {
  it('matches a brute-force selection on random rows at an offset', () => {
    const next = rng(7);
    const classes = 1000;
    const probs = new Float32Array(3 * classes).map(() => next());
    for (let row = 0; row < 3; row++) {
      const got = topK(probs, row * classes, classes, 5);
      const used = new Set<number>();
      const want: number[] = [];
      for (let r = 0; r < 5; r++) {
        let best = -1;
        for (let i = 0; i < classes; i++) {
          if (!used.has(i) && (best < 0 || probs[row * classes + i] > probs[row * classes + best])) best = i;
        }
        used.add(best);
        want.push(best);
      }
      expect(got.map((g) => g.classIndex)).to.deep.equal(want);
      expect(got.map((g) => g.probability)).to.deep.equal(want.map((i) => probs[row * classes + i]));
      expect(got[0].className).to.equal(imagenetLabels()[want[0]]);
    }
  });

  it('keeps ties in index order and puts NaN last', () => {
    const probs = new Float32Array([0.2, NaN, 0.5, 0.2, 0.5, 0.1]);
    expect(topK(probs, 0, 6, 6).map((r) => r.classIndex)).to.deep.equal([2, 4, 0, 3, 5, 1]);
  });

  it('reports ImageNet indices for 1001-class rows, background as -1', () => {
    const probs = new Float32Array(1001);
    probs[0] = 0.5; // background
    probs[282] = 0.3; // ImageNet 281 (tabby cat)
    probs[1] = 0.2; // ImageNet 0 (tench)
    const got = topK(probs, 0, 1001, 3);
    expect(got).to.deep.equal([
      { className: 'background', classIndex: -1, probability: 0.5 },
      { className: imagenetLabels()[281], classIndex: 281, probability: probs[282] },
      { className: 'tench', classIndex: 0, probability: probs[1] },
    ]);
  });

  it('clamps k to the class count and allows k = 0', () => {
    const probs = new Float32Array([0.1, 0.9]);
    expect(topK(probs, 0, 2, 10)).to.have.length(2);
    expect(topK(probs, 0, 2, 0)).to.deep.equal([]);
  });

  it('rejects rows that do not fit and bad arguments', () => {
    const probs = new Float32Array(10);
    expectCode(() => topK(probs, 5, 6, 1), 'ERR_SHAPE');
    expectCode(() => topK(probs, -1, 5, 1), 'ERR_INVALID_ARGUMENT');
    expectCode(() => topK(probs, 0, 5, -1), 'ERR_INVALID_ARGUMENT');
    expectCode(() => topK(probs, 0, 5, 1.5), 'ERR_INVALID_ARGUMENT');
    expectCode(() => topK([0.1, 0.2] as unknown as Float32Array, 0, 2, 1), 'ERR_DTYPE');
  });

  it('equals a full stable sort on random rows with ties and NaN, for every k up to 12', () => {
    const next = rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const classes = 1000;
      const row = Float32Array.from({ length: classes }, () => (next() < 0.05 ? NaN : Math.floor(next() * 50) / 50));
      const want = Array.from({ length: classes }, (_, i) => i).sort((a, b) => {
        const na = Number.isNaN(row[a]);
        const nb = Number.isNaN(row[b]);
        if (na || nb) return na === nb ? 0 : na ? 1 : -1;
        return row[b] - row[a];
      });
      const k = trial % 13;
      expect(topK(row, 0, classes, k).map((s) => s.classIndex), `trial ${trial}, k ${k}`).to.deep.equal(want.slice(0, k));
    }
  });
});
