import { expect } from 'chai';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listInputs, parseCsvRecord, runBatch } from '../lib/apps/batch';
import { MobileNetError } from '../lib/core/errors';
import { load, type MobileNet } from '../lib';
import { REPO_ROOT, SAMPLE_DIR, rng } from './helpers/images';
import { requireData, SAMPLE_LABELS } from './helpers/data';

const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');

interface Rec {
  file: string;
  top?: Array<{ className: string; classIndex: number; probability: number }>;
  embedding?: number[];
  error?: { code: string; message: string };
}

/** Every line must parse: a crash may lose records, never corrupt the file. */
function readJsonl(file: string): Rec[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n'), 'file ends with a complete line').to.equal(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Rec);
}

function byFile(recs: Rec[]): Map<string, Rec> {
  const m = new Map<string, Rec>();
  for (const r of recs) {
    expect(m.has(r.file), `one record for ${r.file}`).to.equal(false);
    m.set(r.file, r);
  }
  return m;
}

function expectSamePredictions(a: Map<string, Rec>, b: Map<string, Rec>): void {
  expect([...a.keys()].sort()).to.deep.equal([...b.keys()].sort());
  for (const [file, ra] of a) {
    const rb = b.get(file)!;
    if (ra.error) {
      expect(rb.error?.code, file).to.equal(ra.error.code);
      continue;
    }
    expect(rb.top!.map((s) => s.classIndex), file).to.deep.equal(ra.top!.map((s) => s.classIndex));
    ra.top!.forEach((s, i) => expect(rb.top![i].probability, file).to.be.closeTo(s.probability, 1e-5));
  }
}

/** 200 sample photos (symlinked, spread over nested folders) and 20 damaged image files. */
function makeFolder(root: string): { images: string[]; corrupt: string[] } {
  const samples = fs.readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.jpg')).sort();
  expect(samples).to.have.length(200);
  const images: string[] = [];
  samples.forEach((f, i) => {
    const sub = path.join(root, i % 3 === 0 ? '' : i % 3 === 1 ? 'a' : path.join('b', 'c'));
    fs.mkdirSync(sub, { recursive: true });
    const p = path.join(sub, f);
    fs.symlinkSync(path.join(SAMPLE_DIR, f), p);
    images.push(p);
  });
  const rand = rng(42);
  const jpeg = fs.readFileSync(path.join(SAMPLE_DIR, samples[0]));
  const corrupt: string[] = [];
  for (let i = 0; i < 20; i++) {
    const ext = ['.jpg', '.png', '.webp', '.gif'][i % 4];
    const p = path.join(root, i % 2 ? 'a' : '', `corrupt_${i}${ext}`);
    let bytes: Buffer;
    if (i < 6) bytes = jpeg.subarray(0, 2 + Math.floor(rand() * 600)); // truncated header
    else if (i < 12) bytes = Buffer.from(Array.from({ length: 10 + Math.floor(rand() * 5000) }, () => Math.floor(rand() * 256)));
    else if (i < 15) bytes = Buffer.alloc(0);
    else bytes = Buffer.from(`not an image ${i}\n`);
    fs.writeFileSync(p, bytes);
    corrupt.push(p);
  }
  fs.writeFileSync(path.join(root, 'labels.tsv'), 'not an image, and no image extension\n');
  return { images, corrupt };
}

function spawnCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

async function waitForLines(file: string, n: number, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').length - 1 >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${file} did not reach ${n} lines`);
}

describe('batch jobs (lib/apps/batch.ts, mobilenet batch)', function () {
  let root: string;
  let folder: string;
  let images: string[];
  let corrupt: string[];
  let model: MobileNet;
  let clean: Map<string, Rec>;

  before(async function () {
    requireData(this, SAMPLE_LABELS);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-batch-'));
    folder = path.join(root, 'photos');
    ({ images, corrupt } = makeFolder(folder));
    model = await load();
  });
  after(() => {
    model?.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('streams a directory tree: image extensions only, symlinks followed, nothing else', async () => {
    const seen: string[] = [];
    for await (const p of listInputs(folder)) seen.push(p);
    expect(seen.sort()).to.deep.equal([...images, ...corrupt].sort());
  });

  it('200 photos + 20 corrupt files → 200 results and 20 error records, matching classify()', async () => {
    const out = path.join(root, 'clean.jsonl');
    const progress: number[] = [];
    const summary = await runBatch({ input: folder, out, model, onProgress: (p) => progress.push(p.processed) });
    expect(summary).to.include({ processed: 220, errors: 20, skipped: 0, stopped: false });
    expect(summary.rate).to.be.greaterThan(0);
    expect(progress[progress.length - 1]).to.equal(220);
    clean = byFile(readJsonl(out));
    expect([...clean.keys()].sort()).to.deep.equal([...images, ...corrupt].sort());
    for (const f of corrupt) {
      const e = clean.get(f)!.error!;
      expect(e, f).to.be.an('object');
      // Random bytes, empty files and text have no raster signature: ERR_UNSUPPORTED_MEDIA (issue 16).
      expect(e.code, f).to.match(/^ERR_(INVALID_IMAGE|IMAGE_TOO_LARGE|UNSUPPORTED_MEDIA)$/);
      expect(e.message).to.be.a('string').and.not.equal('');
    }
    for (const f of images) expect(clean.get(f)!.top, f).to.have.length(5);
    // Batched inference in the job agrees with one-at-a-time classify().
    for (const f of images.slice(0, 12)) {
      const direct = await model.classify(f, { topk: 5 });
      const rec = clean.get(f)!.top!;
      expect(rec.map((s) => s.classIndex), f).to.deep.equal(direct.map((s) => s.classIndex));
      rec.forEach((s, i) => expect(s.probability).to.be.closeTo(direct[i].probability, 1e-5));
      expect(rec[0].className).to.equal(direct[0].className);
    }
  });

  it('SIGKILL mid-run, then re-run → exactly one record per file, same predictions as a clean run', async () => {
    const out = path.join(root, 'killed.jsonl');
    const { child, exited } = spawnCli(['batch', folder, '--out', out, '--concurrency', '2', '--batch-size', '4']);
    await waitForLines(out, 30);
    child.kill('SIGKILL');
    const first = await exited;
    expect(first.signal).to.equal('SIGKILL');
    const partial = readJsonl(out);
    expect(partial.length).to.be.within(30, 219);
    byFile(partial);

    const second = spawnCli(['batch', folder, '--out', out]);
    const done = await second.exited;
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stderr).to.match(new RegExp(`${partial.length} already in`));
    expect(done.stderr).to.match(/done: \d+ images \(\d+ errors\).*img\/s/);
    expectSamePredictions(clean, byFile(readJsonl(out)));
  });

  it('cuts off a partial last line left by a crash and redoes that file', async () => {
    const out = path.join(root, 'partial.jsonl');
    const lines = fs.readFileSync(path.join(root, 'clean.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
    const kept = lines.slice(0, 200);
    const cut = lines[200].slice(0, Math.floor(lines[200].length / 2));
    fs.writeFileSync(out, kept.join('\n') + '\n' + cut);
    const warnings: string[] = [];
    const summary = await runBatch({ input: folder, out, model, onWarning: (w) => warnings.push(w) });
    expect(warnings.join()).to.include('partial last record');
    expect(summary.skipped).to.equal(200);
    expect(summary.processed).to.equal(20);
    expectSamePredictions(clean, byFile(readJsonl(out)));
  });

  it('an aborted run stops cleanly with whole records, and resuming completes it', async () => {
    const out = path.join(root, 'aborted.jsonl');
    const controller = new AbortController();
    const summary = await runBatch({
      input: folder, out, model, batchSize: 4, concurrency: 2, signal: controller.signal,
      onProgress: (p) => {
        if (p.processed >= 20) controller.abort();
      },
    });
    expect(summary.stopped).to.equal(true);
    expect(summary.processed).to.be.within(20, 219);
    expect(readJsonl(out)).to.have.length(summary.processed);
    const rest = await runBatch({ input: folder, out, model });
    expect(rest.skipped).to.equal(summary.processed);
    expect(rest.processed + rest.skipped).to.equal(220);
    expectSamePredictions(clean, byFile(readJsonl(out)));
  });

  it('Ctrl-C (SIGINT) on the CLI finishes in-flight images, prints a summary and exits 130', async () => {
    const out = path.join(root, 'sigint.jsonl');
    const { child, exited } = spawnCli(['batch', folder, '--out', out, '--concurrency', '2', '--batch-size', '4']);
    await waitForLines(out, 20);
    child.kill('SIGINT');
    const r = await exited;
    expect(r.code, r.stderr).to.equal(130);
    expect(r.stderr).to.match(/stopped after \d+ images/);
    const recs = readJsonl(out);
    expect(recs.length).to.be.within(20, 220);
    expect(r.stderr).to.include(`stopped after ${recs.length} images`);
  });

  it('CSV output, a list file and a glob, with resume', async () => {
    const list = path.join(root, 'list.txt');
    const chosen = [...images.slice(0, 10), ...corrupt.slice(0, 3)];
    fs.writeFileSync(list, '# photos to do\n' + chosen.map((p) => path.relative(root, p)).join('\n') + '\n\n');
    const out = path.join(root, 'list.csv');
    const s1 = await runBatch({ input: list, out, model, topk: 3 });
    expect(s1).to.include({ processed: 13, errors: 3 });
    const rows = fs.readFileSync(out, 'utf8').trimEnd().split('\n').map(parseCsvRecord);
    expect(rows[0]).to.deep.equal(['file', 'error_code', 'error_message', 'label_1', 'index_1', 'prob_1', 'label_2', 'index_2', 'prob_2', 'label_3', 'index_3', 'prob_3']);
    expect(rows.slice(1).map((r) => r[0]).sort()).to.deep.equal(chosen.sort());
    for (const r of rows.slice(1)) {
      expect(r).to.have.length(12);
      const rec = clean.get(r[0])!;
      if (rec.error) expect(r[1]).to.equal(rec.error.code);
      else expect([Number(r[4]), Number(r[7]), Number(r[10])]).to.deep.equal(rec.top!.slice(0, 3).map((s) => s.classIndex));
    }
    const s2 = await runBatch({ input: list, out, model, topk: 3 });
    expect(s2).to.include({ processed: 0, skipped: 13 });
    // A resume with other columns is refused rather than mixing two layouts in one file.
    try {
      await runBatch({ input: list, out, model, topk: 5 });
      expect.fail('expected ERR_INVALID_ARGUMENT');
    } catch (e) {
      expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
    }

    const globOut = path.join(root, 'glob.jsonl');
    const s3 = await runBatch({ input: path.join(folder, 'b', '**', '*.jpg'), out: globOut, model });
    const expected = images.filter((p) => p.includes(`${path.sep}b${path.sep}`));
    expect(s3.processed).to.equal(expected.length);
    expect(readJsonl(globOut).map((r) => r.file).sort()).to.deep.equal(expected.sort());
  });

  it('--embed writes feature vectors equal to embed()', async () => {
    const list = path.join(root, 'embed.txt');
    fs.writeFileSync(list, images.slice(0, 6).join('\n') + '\n' + corrupt[0] + '\n');
    const out = path.join(root, 'embed.jsonl');
    const s = await runBatch({ input: list, out, model, embed: true });
    expect(s).to.include({ processed: 7, errors: 1 });
    const recs = byFile(readJsonl(out));
    for (const f of images.slice(0, 6)) {
      const v = recs.get(f)!.embedding!;
      expect(v).to.have.length(model.featureWidth);
      const direct = await model.embed(f);
      let maxDiff = 0;
      for (let i = 0; i < v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(v[i] - direct[i]));
      expect(maxDiff, f).to.be.below(1e-4);
    }
    try {
      await runBatch({ input: list, out, model });
      expect.fail('expected ERR_INVALID_ARGUMENT');
    } catch (e) {
      expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
      expect((e as Error).message).to.include('embeddings');
    }
  });

  it('rejects a missing input or a bad --out before writing anything', async () => {
    const out = path.join(root, 'never.jsonl');
    for (const input of [path.join(root, 'missing-dir'), path.join(root, 'missing', '*.jpg')]) {
      if (input.includes('*')) {
        const s = await runBatch({ input, out, model });
        expect(s.processed).to.equal(0);
        fs.rmSync(out, { force: true });
        continue;
      }
      try {
        await runBatch({ input, out, model });
        expect.fail('expected ERR_INVALID_ARGUMENT');
      } catch (e) {
        expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
      }
      expect(fs.existsSync(out)).to.equal(false);
    }
    for (const bad of [path.join(root, 'results.txt'), '']) {
      try {
        await runBatch({ input: folder, out: bad, model });
        expect.fail('expected ERR_INVALID_ARGUMENT');
      } catch (e) {
        expect(e).to.be.instanceOf(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
      }
    }
  });
});
