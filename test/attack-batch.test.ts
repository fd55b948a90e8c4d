/**
 * Attacks on `mobilenet batch`: an output that cannot be written (a full disk), inputs that cannot
 * be read, and files whose bytes are not a raster image whatever their name says.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { load, MobileNet } from '../lib';
import { runBatch } from '../lib/apps/batch';
import { SVG_BOMB } from './helpers/hostile';
import { rejection } from './helpers/errors';
import { demoPath, REPO_ROOT, tempDir } from './helpers/images';

const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');
const records = (out: string): Array<{ file: string; error?: { code: string }; top?: unknown[] }> =>
  fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('attack: batch jobs', function () {
  this.timeout(120_000);
  let model: MobileNet;
  let dir: string;
  before(async () => {
    model = await load();
  });
  after(() => model.dispose());
  beforeEach(() => {
    dir = tempDir('mobilenet-attack-batch-');
    for (const name of ['chelsea.png', 'coffee.png', 'rocket.jpg'] as const) fs.copyFileSync(demoPath(name), path.join(dir, name));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ends with ERR_WRITE, not an uncaught ENOSPC, when the output device is full (/dev/full)', async () => {
    const out = path.join(dir, 'full.jsonl');
    fs.symlinkSync('/dev/full', out);
    const err = await rejection(runBatch({ input: dir, out, model }));
    expect(err.code).to.equal('ERR_WRITE');
    expect(err.message).to.include('ENOSPC').and.include('resume');
    // The model is still usable.
    expect((await model.classify(demoPath('coffee.png'))).length).to.equal(5);
  });

  it('`mobilenet batch` on a full disk prints one typed error line and exits 1 (no stack trace)', () => {
    const out = path.join(dir, 'full.jsonl');
    fs.symlinkSync('/dev/full', out);
    const r = spawnSync(process.execPath, [CLI, 'batch', dir, '--out', out, '--no-progress'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.match(/mobilenet: error \[ERR_WRITE\]: cannot write to .*ENOSPC/);
    expect(r.stderr).not.to.match(/\n\s+at /);
  });

  it('records a file it cannot read as ERR_READ and reads it again on resume', async () => {
    const list = path.join(dir, 'list.txt');
    const late = path.join(dir, 'late.png');
    const pipe = path.join(dir, 'pipe.jpg');
    execFileSync('mkfifo', [pipe]);
    fs.writeFileSync(list, [path.join(dir, 'rocket.jpg'), late, pipe, dir].join('\n') + '\n');
    const out = path.join(dir, 'out.jsonl');
    await runBatch({ input: list, out, model });
    const first = records(out);
    expect(first.map((r) => r.error?.code ?? 'ok').sort()).to.deep.equal(['ERR_READ', 'ERR_READ', 'ERR_READ', 'ok']);
    // The missing file appears; the FIFO and the directory stay unreadable.
    fs.copyFileSync(demoPath('chelsea.png'), late);
    const again = await runBatch({ input: list, out, model });
    expect(again.skipped).to.equal(1); // rocket.jpg only: ERR_READ records are not "done"
    const last = new Map(records(out).map((r) => [r.file, r]));
    expect(last.get(late)?.top).to.have.length(5);
    expect(last.get(pipe)?.error?.code).to.equal('ERR_READ');
  });

  it('takes raster files by their bytes: an SVG, a PDF or random bytes named .jpg are ERR_UNSUPPORTED_MEDIA; --allow-svg renders SVG', async () => {
    fs.writeFileSync(path.join(dir, 'bomb.jpg'), SVG_BOMB);
    fs.writeFileSync(path.join(dir, 'doc.png'), '%PDF-1.4\n');
    fs.writeFileSync(path.join(dir, 'small.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="blue"/></svg>');
    const out = path.join(dir, 'out.jsonl');
    await runBatch({ input: dir, out, model, extensions: ['.jpg', '.png', '.svg'] });
    const byName = new Map(records(out).map((r) => [path.basename(r.file), r]));
    for (const name of ['bomb.jpg', 'doc.png', 'small.svg']) expect(byName.get(name)?.error?.code, name).to.equal('ERR_UNSUPPORTED_MEDIA');
    for (const name of ['chelsea.png', 'coffee.png', 'rocket.jpg']) expect(byName.get(name)?.top, name).to.have.length(5);

    const out2 = path.join(dir, 'out2.jsonl');
    await runBatch({ input: dir, out: out2, model, extensions: ['.jpg', '.svg'], allowSvg: true, decodeTimeoutMs: 1500 });
    const byName2 = new Map(records(out2).map((r) => [path.basename(r.file), r]));
    expect(byName2.get('small.svg')?.top).to.have.length(5);
    expect(byName2.get('bomb.jpg')?.error?.code).to.equal('ERR_DECODE_TIMEOUT');
  });
});
