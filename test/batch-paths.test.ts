/**
 * Batch inputs the photo-folder tests do not have: symlink loops in the tree, file names with commas,
 * quotes and line breaks (CSV and JSONL, with resume), and `--embed` run from the CLI.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import { load, type MobileNet } from '../lib';
import { listInputs, parseCsvRecord, runBatch } from '../lib/apps/batch';
import { cli } from './helpers/cli';
import { demoPath } from './helpers/images';

/** Splits CSV text into records at line breaks outside quotes, then into fields. */
function csvRecords(text: string): string[][] {
  const records: string[] = [];
  let cur = '';
  let quotes = 0;
  for (const c of text) {
    if (c === '"') quotes++;
    if (c === '\n' && quotes % 2 === 0) {
      records.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur !== '') records.push(cur);
  return records.map(parseCsvRecord);
}

describe('batch: symlink loops, awkward file names, --embed from the CLI', function () {
  this.timeout(120_000);
  let root: string;
  let model: MobileNet;
  const names = ['plain.png', 'a,b.png', 'say "hi".png', 'two\nlines.png', 'comma, "quote"\r\nand all.png'];

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-batch-paths-'));
    const dir = path.join(root, 'photos');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    names.forEach((n, i) => fs.copyFileSync(demoPath(i % 2 ? 'coffee.png' : 'chelsea.png'), path.join(dir, n)));
    fs.copyFileSync(demoPath('rocket.jpg'), path.join(dir, 'sub', 'rocket.jpg'));
    fs.symlinkSync('..', path.join(dir, 'sub', 'up'));           // a cycle through the parent
    fs.symlinkSync('.', path.join(dir, 'here'));                  // a cycle on itself
    fs.symlinkSync('selfloop', path.join(dir, 'selfloop.jpg'));   // a link that points at itself (ELOOP)
    model = await load();
  });
  after(() => {
    model.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('walks a tree with symlink cycles to the end, each image once', async () => {
    const found: string[] = [];
    for await (const f of listInputs(path.join(root, 'photos'))) found.push(path.relative(path.join(root, 'photos'), f));
    expect(found.filter((f) => f !== 'selfloop.jpg').sort()).to.deep.equal([...names, path.join('sub', 'rocket.jpg')].sort());
    // The self-referencing link, if listed, is an error record, not a crash or a hang.
    const out = path.join(root, 'loops.jsonl');
    const s = await runBatch({ input: path.join(root, 'photos'), out, model });
    expect(s.processed - s.errors).to.equal(names.length + 1);
  });

  for (const ext of ['csv', 'jsonl'] as const) {
    it(`${ext}: names with commas, quotes and line breaks round-trip, and a re-run skips them`, async () => {
      const out = path.join(root, `names.${ext}`);
      const input = path.join(root, 'photos', '*.png');
      const first = await runBatch({ input, out, model, topk: 2 });
      expect(first).to.include({ processed: names.length, errors: 0 });
      const text = fs.readFileSync(out, 'utf8');
      const files = ext === 'csv'
        ? csvRecords(text).slice(1).map((r) => r[0])
        : text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { file: string }).file);
      expect(files.map((f) => path.basename(f)).sort()).to.deep.equal([...names].sort());
      if (ext === 'csv') for (const r of csvRecords(text).slice(1)) expect(r, r[0]).to.have.length(3 + 2 * 3);
      const again = await runBatch({ input, out, model, topk: 2 });
      expect(again).to.include({ processed: 0, skipped: names.length });
    });
  }

  it('mobilenet batch --embed (CLI) writes CSV embeddings equal to model.embed()', async () => {
    const out = path.join(root, 'emb.csv');
    const run = await cli(['batch', path.join(root, 'photos', 'sub'), '--out', out, '--embed']);
    expect(run.status, run.stderr).to.equal(0);
    const [head, row] = csvRecords(fs.readFileSync(out, 'utf8'));
    expect(head.slice(0, 4)).to.deep.equal(['file', 'error_code', 'error_message', 'e0']);
    expect(head).to.have.length(3 + model.featureWidth);
    expect(row[0]).to.equal(path.join(root, 'photos', 'sub', 'rocket.jpg'));
    const want = await model.embed(row[0]);
    const got = row.slice(3).map(Number);
    expect(got).to.have.length(want.length);
    got.forEach((v, i) => expect(v, `e${i}`).to.be.closeTo(want[i], 1e-5));
  });
});
