import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { load } from '../lib';
import { demoPath } from './helpers/images';
import { BUNDLED_MODEL } from './helpers/data';
import { cli } from './helpers/cli';

const CAT_LABELS = /tabby|tiger cat|Egyptian|Persian|Siamese|lynx|cougar/i;

describe('mobilenet classify (CLI)', function () {
  let scratch: string;
  let corrupt: string;
  let home: string;

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-cli-'));
    corrupt = path.join(scratch, 'broken.jpg');
    // A JPEG cut off after its first kilobyte: the signature is right, the data is not there.
    fs.writeFileSync(corrupt, fs.readFileSync(demoPath('rocket.jpg')).subarray(0, 1024));
    home = path.join(scratch, 'home');
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('prints a table whose first rows are a cat for the demo cat photo, matching the library', async () => {
    const run = await cli(['classify', demoPath('chelsea.png')]);
    expect(run.stderr).to.equal('');
    expect(run.status).to.equal(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^file\s+rank\s+label\s+probability$/);
    expect(lines).to.have.length(1 + 5);
    const model = await load();
    try {
      const top = await model.classify(demoPath('chelsea.png'), { topk: 5 });
      expect(top[0].className).to.match(CAT_LABELS);
      top.forEach((s, i) => {
        expect(lines[1 + i]).to.include(s.className);
        expect(lines[1 + i]).to.include(s.probability.toFixed(4));
        expect(lines[1 + i]).to.match(new RegExp(`\\s${i + 1}\\s`));
      });
    } finally {
      model.dispose();
    }
  });

  it('--json with --topk and both preprocessing modes', async () => {
    for (const preprocess of ['tfjs', 'center-crop']) {
      const run = await cli(['classify', '--json', '--topk', '3', '--preprocess', preprocess, demoPath('chelsea.png'), demoPath('coffee.png')]);
      expect(run.status, run.stderr).to.equal(0);
      const out = JSON.parse(run.stdout) as Array<{ file: string; top: Array<{ className: string; classIndex: number; probability: number }> }>;
      expect(out.map((r) => r.file)).to.deep.equal([demoPath('chelsea.png'), demoPath('coffee.png')]);
      for (const r of out) {
        expect(r.top).to.have.length(3);
        expect(r.top[0].probability).to.be.at.least(r.top[1].probability);
      }
      expect(out[0].top.some((s) => CAT_LABELS.test(s.className)), preprocess).to.equal(true);
      expect(out[1].top.map((s) => s.className).join()).to.match(/espresso|cup/);
    }
  });

  it('reports each bad file with its code, still classifies the good ones, and exits 1', async () => {
    const missing = path.join(scratch, 'nope.png');
    const run = await cli(['classify', corrupt, demoPath('chelsea.png'), missing]);
    expect(run.status).to.equal(1);
    expect(run.stdout).to.match(new RegExp(`${path.basename(corrupt)}\\s+-\\s+error \\[ERR_INVALID_IMAGE\\]`));
    expect(run.stdout).to.match(CAT_LABELS);
    expect(run.stderr).to.include(`${corrupt}: error [ERR_INVALID_IMAGE]`);
    expect(run.stderr).to.include(`${missing}: error [ERR_`);

    const json = await cli(['classify', '--json', corrupt, demoPath('chelsea.png')]);
    expect(json.status).to.equal(1);
    const out = JSON.parse(json.stdout);
    expect(out[0]).to.have.property('error').that.has.property('code', 'ERR_INVALID_IMAGE');
    expect(out[1].top).to.have.length(5);
  });

  it('rejects bad options with a coded error', async () => {
    let run = await cli(['classify', '--topk', 'many', demoPath('chelsea.png')]);
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('ERR_INVALID_ARGUMENT').and.include('--topk');
    run = await cli(['classify', '--topk', '0', demoPath('chelsea.png')]);
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('ERR_INVALID_ARGUMENT');
    run = await cli(['classify', '--preprocess', 'squash', demoPath('chelsea.png')]);
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('ERR_INVALID_ARGUMENT').and.include('center-crop');
    run = await cli(['classify', '--alpha', '0.5', '--resolution', '160', demoPath('chelsea.png')], { MOBILENET_HOME: home });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('ERR_WEIGHTS').and.include('mobilenet fetch --alpha 0.5 --resolution 160');
  });

  it('--weights loads a weight file, and --resolution runs it at another input size', async () => {
    const weights = BUNDLED_MODEL;
    const run = await cli(['classify', '--json', '--weights', weights, '--resolution', '192', demoPath('chelsea.png')]);
    expect(run.status, run.stderr).to.equal(0);
    const model = await load({ weights, resolution: 192 });
    try {
      const expected = await model.classify(demoPath('chelsea.png'));
      const got = JSON.parse(run.stdout)[0].top as Array<{ classIndex: number; probability: number }>;
      expect(got.map((s) => s.classIndex)).to.deep.equal(expected.map((s) => s.classIndex));
    } finally {
      model.dispose();
    }
    const mismatch = await cli(['classify', '--weights', weights, '--alpha', '0.5', demoPath('chelsea.png')]);
    expect(mismatch.status).to.equal(1);
    expect(mismatch.stderr).to.include('ERR_INVALID_ARGUMENT').and.include('alpha');
  });
});
