import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { detectFormat, loadWeights } from '../lib/core/weights';
import { requireData } from './helpers/data';
import { TFJS_025, slimGraph, tempDir, removeDir } from './helpers/weights-fixtures';
import { rejection } from './helpers/errors';

describe('weights: loadWeights format detection', function () {
  this.timeout(20000);

  it('a directory with model.json and a *.json path are TF.js layers', async () => {
    expect(detectFormat(TFJS_025)).to.deep.equal({ format: 'tfjs-layers', file: path.join(TFJS_025, 'model.json') });
    const w = await loadWeights(TFJS_025);
    expect(w.format).to.equal('tfjs-layers');
    expect((await loadWeights(path.join(TFJS_025, 'model.json'))).arch.alpha).to.equal(0.25);
  });

  it('*.pb and a directory with frozen_graph.pb are TF-slim frozen graphs', async function () {
    requireData(this, slimGraph(160));
    expect((await loadWeights(slimGraph(160))).format).to.equal('tf-slim-frozen');
    expect(detectFormat(path.dirname(slimGraph(160))).format).to.equal('tf-slim-frozen');
  });

  it('*.safetensors is safetensors, checked case-insensitively', () => {
    const dir = tempDir();
    try {
      const f = path.join(dir, 'M.SafeTensors');
      fs.writeFileSync(f, Buffer.alloc(8));
      expect(detectFormat(f).format).to.equal('safetensors');
    } finally { removeDir(dir); }
  });

  it('rejects missing paths, unknown extensions and empty directories with ERR_WEIGHTS', async () => {
    const dir = tempDir();
    try {
      let e = await rejection(loadWeights(path.join(dir, 'absent.json')));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('absent.json');
      const f = path.join(dir, 'weights.h5');
      fs.writeFileSync(f, 'x');
      e = await rejection(loadWeights(f));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('weights.h5');
      e = await rejection(loadWeights(dir));
      expect(e.code).to.equal('ERR_WEIGHTS');
      expect(e.message).to.contain('model.json');
    } finally { removeDir(dir); }
  });
});
