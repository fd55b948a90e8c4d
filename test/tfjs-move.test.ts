/**
 * What a user of @tensorflow-models/mobilenet expects: classify(img, k), ImageData-like pixels,
 * Blob and file: URL inputs, misspelt options refused, AbortSignal, load({ download: true }).
 */
import { expect } from 'chai';
import { Blob } from 'buffer';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { load, type MobileNet } from '../lib';
import { rejection } from './helpers/errors';
import { startModelServer } from './helpers/http-server';
import { DATA_DIR, demoPath, rgbOf } from './helpers/images';
import { requireData } from './helpers/skip';

describe('moving from @tensorflow-models/mobilenet', () => {
  let model: MobileNet;
  const cat = demoPath('chelsea.png');
  let expected: number[];

  before(async () => {
    model = await load();
    expected = (await model.classify(cat, { topk: 3 })).map((s) => s.classIndex);
  });
  after(() => model.dispose());

  it('classify(img, 3) takes topk as a number', async () => {
    const top = await model.classify(cat, 3);
    expect(top.map((s) => s.classIndex)).to.deep.equal(expected);
    const many = await model.classify([cat, cat], 2);
    expect(many.map((r) => r.length)).to.deep.equal([2, 2]);
    expect((await rejection(model.classify(cat, 0))).code).to.equal('ERR_INVALID_ARGUMENT');
    expect((await rejection(model.classify(cat, 2.5))).code).to.equal('ERR_INVALID_ARGUMENT');
  });

  it('raw pixels without channels: RGB and RGBA (ImageData) inferred from the length', async () => {
    const rgb = await rgbOf(cat);
    const n = rgb.width * rgb.height;
    const rgba = new Uint8ClampedArray(n * 4);
    for (let i = 0; i < n; i++) {
      rgba.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = 255;
    }
    const grey = new Uint8Array(n).fill(128);
    const withChannels = await model.classify({ ...rgb, channels: 3 }, 3);
    const inferredRgb = await model.classify({ data: rgb.data, width: rgb.width, height: rgb.height }, 3);
    const imageData = await model.classify({ data: rgba, width: rgb.width, height: rgb.height }, 3);
    expect(inferredRgb).to.deep.equal(withChannels);
    expect(imageData).to.deep.equal(withChannels);
    expect(await model.classify({ data: grey, width: rgb.width, height: rgb.height }, 1)).to.have.length(1);
    const e = await rejection(model.classify({ data: rgb.data.subarray(1), width: rgb.width, height: rgb.height }));
    expect(e.code).to.equal('ERR_SHAPE');
    expect(e.message).to.match(/expected 1, 3 or 4/);
  });

  it('a Blob of the file, a file: URL and a file: URL string classify like the path', async () => {
    const bytes = fs.readFileSync(cat);
    for (const input of [new Blob([bytes], { type: 'image/png' }), pathToFileURL(cat), pathToFileURL(cat).href]) {
      expect((await model.classify(input, 3)).map((s) => s.classIndex)).to.deep.equal(expected);
    }
    const http = await rejection(model.classify(new URL('http://127.0.0.1:1/cat.png')));
    expect(http.code).to.equal('ERR_INVALID_ARGUMENT');
    expect(http.message).to.include('only file: URLs');
  });

  it('unknown options are refused, with the likely intended one', async () => {
    const e = await rejection(model.classify(cat, { topK: 3 } as never));
    expect(e.code).to.equal('ERR_INVALID_ARGUMENT');
    expect(e.message).to.include("unknown classify() option 'topK' (did you mean 'topk'?)");
    expect((await rejection(model.embed(cat, { output: 'embedding' } as never))).code).to.equal('ERR_INVALID_ARGUMENT');
    const tensor = new Float32Array(224 * 224 * 3);
    expect((await rejection(model.infer(tensor, [1, 224, 224, 3], { outputs: 'logits' } as never))).message).to.include("unknown infer() option 'outputs'");
  });

  it('an AbortSignal rejects classify, embed and infer; the model stays usable', async () => {
    const done = new AbortController();
    done.abort();
    for (const call of [() => model.classify(cat, { signal: done.signal }), () => model.embed(cat, { signal: done.signal }),
      () => model.infer(new Float32Array(224 * 224 * 3), [1, 224, 224, 3], { signal: done.signal })]) {
      let err: unknown;
      await call().catch((e) => { err = e; });
      expect((err as Error)?.name).to.equal('AbortError');
    }
    // Aborted while the images decode: rejects with the reason given.
    const ctl = new AbortController();
    const pending = model.classify(Array.from({ length: 16 }, () => cat), { signal: ctl.signal });
    ctl.abort(new Error('stop'));
    let reason: unknown;
    await pending.catch((e) => { reason = e; });
    expect((reason as Error)?.message).to.equal('stop');
    expect((await rejection(model.classify(cat, { signal: 'yes' } as never))).code).to.equal('ERR_INVALID_ARGUMENT');
    const live = new AbortController();
    expect((await model.classify(cat, { topk: 3, signal: live.signal })).map((s) => s.classIndex)).to.deep.equal(expected);
  });

  it('load({ alpha, resolution, download }) fetches the release once, with progress (local server)', async function () {
    const source = path.join(DATA_DIR, 'weights', 'tfjs-layers', 'mobilenet_v1_0.75_224');
    requireData(this, path.join(source, 'model.json'));
    const server = await startModelServer({ 'mobilenet_v1_0.75_224': source });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-home-'));
    const savedHome = process.env.MOBILENET_HOME;
    try {
      process.env.MOBILENET_HOME = home;
      const missing = await rejection(load({ alpha: 0.75, resolution: 224 }));
      expect(missing.code).to.equal('ERR_WEIGHTS');
      expect(missing.message).to.include('download: true');
      if (savedHome === undefined) delete process.env.MOBILENET_HOME;
      else process.env.MOBILENET_HOME = savedHome;
      const progress: number[] = [];
      const download = { home, baseUrl: server.baseUrl, retries: 1, backoffMs: 10, onProgress: (received: number) => progress.push(received) };
      const m = await load({ alpha: 0.75, resolution: 224, download });
      expect(m.arch.alpha).to.equal(0.75);
      expect(m.source).to.include(home);
      expect(progress.length).to.be.greaterThan(0);
      expect(progress[progress.length - 1]).to.be.greaterThan(1_000_000);
      m.dispose();
      const hits = [...server.hits.values()].reduce((a, b) => a + b, 0);
      const again = await load({ alpha: 0.75, resolution: 224, download });  // cached: no request
      expect([...server.hits.values()].reduce((a, b) => a + b, 0)).to.equal(hits);
      again.dispose();
      expect((await rejection(load({ weights: 'random', download: true }))).code).to.equal('ERR_INVALID_ARGUMENT');
    } finally {
      if (savedHome === undefined) delete process.env.MOBILENET_HOME;
      else process.env.MOBILENET_HOME = savedHome;
      await server.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
