/**
 * Every CLI command that classify/batch/fetch/serve's own tests do not run, spawned as a user runs it,
 * with its output checked: summary, tables, profile --json, export (then onnxruntime), quantize (then
 * load with the calibration) and report.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect } from 'chai';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { load } from '../lib';
import { buildLayers, cost, type ArchSpec } from '../lib/core/spec';
import { cli, CLI } from './helpers/cli';
import { BUNDLED_MODEL } from './helpers/data';
import { DEMO_DIR } from './helpers/images';
import { uniformImages } from './helpers/random';

const arch = (alpha: number, resolution: number, variant: ArchSpec['variant'] = 'mobilenet'): ArchSpec =>
  ({ alpha, resolution, classes: 1000, channelRule: 'keras', padding: 'same', bnEpsilon: 1e-3, variant });

/** Rows of the first Markdown table in `text`, as arrays of trimmed cells (header and rule dropped). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

describe('CLI commands, run as commands', function () {
  this.timeout(300_000);
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-cli-cmds-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('summary: one row per layer with shapes, mult-adds and parameters, totals as the spec computes', async () => {
    for (const [alpha, resolution, variant] of [[0.75, 192, 'mobilenet'], [1, 224, 'shallow']] as const) {
      const run = await cli(['summary', '--alpha', String(alpha), '--resolution', String(resolution), '--variant', variant]);
      expect(run.status, run.stderr).to.equal(0);
      const layers = buildLayers(arch(alpha, resolution, variant));
      const rows = tableRows(run.stdout);
      expect(rows.map((r) => r[0])).to.deep.equal(layers.map((l) => l.name));
      rows.forEach((r, i) => {
        expect(Number(r[5].replace(/,/g, '')), r[0]).to.equal(layers[i].macs);
        expect(Number(r[6].replace(/,/g, '')), r[0]).to.equal(layers[i].params);
        expect(r[4], r[0]).to.equal(layers[i].outputShape.join(' × '));
      });
      expect(run.stdout).to.include(`${(cost(arch(alpha, resolution, variant)).macs / 1e6).toFixed(1)} M mult-adds`);
    }
    const bad = await cli(['summary', '--alpha', '2']);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include('ERR_INVALID_ARGUMENT').and.include('alpha');
  });

  it('tables: Tables 1–9, with the computed mult-adds beside the paper\'s for α and ρ', async () => {
    const run = await cli(['tables']);
    expect(run.status, run.stderr).to.equal(0);
    for (let n = 1; n <= 9; n++) expect(run.stdout).to.match(new RegExp(`^### Table ${n}\\. `, 'm'));
    // Table 6 and 7 rows: | model | top-1 | paper M | ours M | …; ours must be the spec's count.
    const row = (model: string) => run.stdout.split('\n').find((l) => l.startsWith(`| ${model} |`))?.split('|').map((c) => c.trim());
    for (const [model, alpha, resolution] of [['0.50 MobileNet-224', 0.5, 224], ['1.0 MobileNet-160', 1, 160], ['0.25 MobileNet-224', 0.25, 224]] as const) {
      const cells = row(model);
      expect(cells, model).to.not.equal(undefined);
      expect(Number(cells![4]), model).to.equal(Math.round(cost(arch(alpha, resolution)).macs / 1e6));
    }
  });

  it('profile --json: every layer timed with its kernel, mult-adds summing to the model\'s', async () => {
    const run = await cli(['profile', '--alpha', '0.25', '--resolution', '96', '--runs', '2', '--threads', '1', '--json']);
    expect(run.status, run.stderr).to.equal(0);
    const p = JSON.parse(run.stdout) as { layers: Array<{ name: string; ms: number; kernel: string; macs: number }>; forwardMs: number; macs: number };
    const layers = buildLayers(arch(0.25, 96));
    expect(p.layers.map((l) => l.name)).to.deep.equal(layers.map((l) => l.name));
    for (const l of p.layers) {
      expect(l.ms, l.name).to.be.a('number').and.at.least(0);
      expect(l.kernel, l.name).to.be.a('string').and.not.equal('');
    }
    expect(p.layers.reduce((a, l) => a + l.macs, 0)).to.equal(cost(arch(0.25, 96)).macs);
    expect(p.forwardMs).to.be.greaterThan(0);
  });

  it('export --onnx: the file runs in onnxruntime and gives the engine\'s probabilities', async () => {
    const file = path.join(scratch, 'm.onnx');
    const run = await cli(['export', '--onnx', file, '--weights', 'random', '--alpha', '0.5', '--resolution', '96', '--seed', '3']);
    expect(run.status, run.stderr).to.equal(0);
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
    const model = await load({ weights: 'random', alpha: 0.5, resolution: 96, seed: 3 });
    try {
      const x = uniformImages(2, 96, 5);
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [2, 96, 96, 3]) });
      const ours = await model.infer(x, [2, 96, 96, 3]);
      const theirs = out.probabilities.data as Float32Array;
      expect(theirs.length).to.equal(ours.length);
      let d = 0;
      for (let i = 0; i < ours.length; i++) d = Math.max(d, Math.abs(ours[i] - theirs[i]));
      expect(d).to.be.below(1e-5);
    } finally {
      model.dispose();
    }
  });

  it('quantize: writes a calibration that an int8 load accepts, and refuses a folder without images', async () => {
    const out = path.join(scratch, 'cal.json');
    const run = await cli(['quantize', '--weights', BUNDLED_MODEL, '--calibrate', DEMO_DIR, '--out', out, '--resolution', '96', '--threads', '1']);
    expect(run.status, run.stderr).to.equal(0);
    const cal = JSON.parse(fs.readFileSync(out, 'utf8')) as { images: number; layers: Array<{ max: number }> };
    expect(cal.images).to.equal(fs.readdirSync(DEMO_DIR).filter((f) => /\.(png|jpe?g)$/i.test(f)).length);
    for (const l of cal.layers) expect(l.max).to.be.within(1e-6, 6);
    const m = await load({ weights: BUNDLED_MODEL, resolution: 96, precision: 'int8', calibration: out });
    expect(m.quantization).to.equal('calibration');
    m.dispose();
    const empty = fs.mkdtempSync(path.join(scratch, 'empty-'));
    const none = await cli(['quantize', '--weights', BUNDLED_MODEL, '--calibrate', empty, '--out', path.join(scratch, 'x.json')]);
    expect(none.status).to.equal(1);
    expect(none.stderr).to.match(/ERR_[A-Z_]+/);
  });

  it('report --out: one HTML file with Tables 1–9 and SVG charts', async () => {
    const out = path.join(scratch, 'report.html');
    const run = await cli(['report', '--out', out]);
    expect(run.status, run.stderr).to.equal(0);
    const html = fs.readFileSync(out, 'utf8');
    for (let n = 1; n <= 9; n++) expect(html).to.include(`id="table${n}"`);
    expect((html.match(/<svg[\s>]/g) ?? []).length).to.be.at.least(4);
    expect(html).to.not.match(/<script|src="http/);
  });
});

describe('cli: start-up loads only what the command needs', function () {
  this.timeout(60000);
  it('a command off the cluster (--version, batch --help) does not load bullmq or ioredis', () => {
    for (const args of [['--version'], ['batch', '--help']]) {
      const probe = `process.on('exit', () => { const q = Object.keys(require.cache).filter((k) => /node_modules\\/(bullmq|ioredis)\\//.test(k)); if (q.length) { console.error('loaded ' + q[0]); process.exitCode = 3; } });
        require(${JSON.stringify(CLI)}).buildProgram().parse(['node', 'mobilenet', ...${JSON.stringify(args)}]);`;
      const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
    }
  });

  it('a batch of plain JPEGs loads neither sharp (the JPEG fast path decodes them) nor protobufjs; a PNG loads sharp', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-lazy-'));
    try {
      fs.mkdirSync(path.join(dir, 'jpeg'));
      fs.mkdirSync(path.join(dir, 'png'));
      await sharp(path.join(DEMO_DIR, 'chelsea.png')).jpeg().toFile(path.join(dir, 'jpeg', 'cat.jpg'));
      fs.copyFileSync(path.join(DEMO_DIR, 'chelsea.png'), path.join(dir, 'png', 'cat.png'));
      for (const [sub, sharpWanted] of [['jpeg', false], ['png', true]] as const) {
        const out = path.join(dir, `${sub}.jsonl`);
        const probe = `process.on('exit', () => { const m = (re) => Object.keys(require.cache).some((k) => re.test(k)); console.log(JSON.stringify({ sharp: m(/node_modules\\/sharp\\//), protobufjs: m(/node_modules\\/protobufjs\\//) })); });
          require(${JSON.stringify(CLI)}).buildProgram().parseAsync(['node', 'mobilenet', 'batch', ${JSON.stringify(path.join(dir, sub))}, '--out', ${JSON.stringify(out)}, '--weights', ${JSON.stringify(BUNDLED_MODEL)}, '--no-progress']);`;
        const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
        expect(r.status, `${sub}: ${r.stderr}`).to.equal(0);
        expect(fs.readFileSync(out, 'utf8'), `${sub}: the cat was classified`).to.match(/"className":"(tabby cat|tiger cat|Egyptian Mau|lynx)/);
        expect(JSON.parse(r.stdout.trim().split('\n').pop()!), sub).to.deep.equal({ sharp: sharpWanted, protobufjs: false });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
