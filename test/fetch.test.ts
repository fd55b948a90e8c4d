import { expect } from 'chai';
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MobileNetError } from '../lib/core/errors';
import { fetchModel, findCachedModel, officialModelName, officialModelUrl, officialWeights, officialWeightsPath, verifyCachedModel } from '../lib/apps/fetch';
import { BUNDLED_WEIGHTS, load } from '../lib';
import { startModelServer, type ModelServer } from './helpers/http-server';
import { demoPath, REPO_ROOT } from './helpers/images';
import { BUNDLED_DIR } from './helpers/data';
import { rejection } from './helpers/errors';

// The official release's files: the bundled model is that release, plus its LICENSE and SOURCE.md.
const SOURCE = BUNDLED_DIR;
const NAME = 'mobilenet_v1_0.25_224';
const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');
const fast = { retries: 3, backoffMs: 10, timeoutMs: 5000 };

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const shards = (): string[] => fs.readdirSync(SOURCE).filter((f) => /shard\d+of\d+$/.test(f));
const releaseFiles = (): string[] => ['model.json', ...shards()];
/** The biggest shard, so that a fault hits the middle of real data. */
const bigShard = (): string => shards().reduce((a, b) => (fs.statSync(path.join(SOURCE, a)).size >= fs.statSync(path.join(SOURCE, b)).size ? a : b));

/** Nothing but (optionally) the finished model directory may be visible in the cache. */
function expectCacheEntries(home: string, expected: string[]): void {
  const entries = fs.existsSync(home) ? fs.readdirSync(home).sort() : [];
  expect(entries).to.deep.equal(expected.sort());
}

describe('model downloader (lib/core/weights/download.ts) against a local server', function () {
  let server: ModelServer;
  let home: string;

  before(async () => {
    server = await startModelServer({ [NAME]: SOURCE });
  });
  after(() => server.close());
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-home-'));
    server.faults.clear();
    server.hits.clear();
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('names the 16 official releases and their URLs the way the TF.js bucket does', () => {
    expect(officialModelName(1, 224)).to.equal('mobilenet_v1_1.0_224');
    expect(officialModelName(0.5, 160)).to.equal('mobilenet_v1_0.50_160');
    expect(officialModelUrl(0.25, 128, 'https://storage.googleapis.com')).to.equal('https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_128/model.json');
    for (const [a, r] of [[0.3, 224], [0.25, 200], [2, 224]] as const) {
      expect(() => officialModelName(a, r)).to.throw(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
    }
  });

  it('downloads, verifies and records checksums; the cached model classifies like the bundled one', async () => {
    const progress: Array<[number, number | undefined]> = [];
    const result = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl, onProgress: (r, t) => progress.push([r, t]) });
    expect(result.cached).to.equal(false);
    expectCacheEntries(home, [NAME]);
    expect(findCachedModel(0.25, 224, home)).to.equal(path.join(home, NAME, 'model.json'));
    const marker = JSON.parse(fs.readFileSync(path.join(home, NAME, '.complete'), 'utf8'));
    const sourceFiles = releaseFiles();
    expect(Object.keys(marker.files).sort()).to.deep.equal(sourceFiles.sort());
    for (const f of sourceFiles) expect(marker.files[f].sha256, f).to.equal(sha256(path.join(SOURCE, f)));
    expect(await verifyCachedModel(result.dir)).to.deep.equal([]);
    const last = progress[progress.length - 1];
    expect(last[0]).to.equal(last[1]);
    expect(last[0]).to.equal(sourceFiles.reduce((a, f) => a + fs.statSync(path.join(SOURCE, f)).size, 0));

    const [cached, bundled] = await Promise.all([load({ weights: result.modelJson }), load()]);
    try {
      const [a, b] = await Promise.all([cached.classify(demoPath('chelsea.png'), { topk: 5 }), bundled.classify(demoPath('chelsea.png'), { topk: 5 })]);
      expect(a.map((s) => s.classIndex)).to.deep.equal(b.map((s) => s.classIndex));
      a.forEach((s, i) => expect(s.probability).to.be.closeTo(b[i].probability, 1e-6));
    } finally {
      cached.dispose();
      bundled.dispose();
    }

    // A second fetch finds the verified copy and downloads nothing.
    server.hits.clear();
    const again = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    expect(again.cached).to.equal(true);
    expect(server.hits.size).to.equal(0);
    // --force downloads again and replaces the copy in place.
    const forced = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl, force: true });
    expect(forced.cached).to.equal(false);
    expectCacheEntries(home, [NAME]);
    expect(findCachedModel(0.25, 224, home)).to.be.a('string');
  });

  it('retries a connection dropped mid-shard and ends with an intact model', async () => {
    const shard = bigShard();
    const size = fs.statSync(path.join(SOURCE, shard)).size;
    server.faults.set(shard, { dropAfter: Math.floor(size / 2), times: 2 });
    const retries: string[] = [];
    const result = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl, onRetry: (url) => retries.push(url) });
    expect(retries).to.have.length(2);
    expect(server.hits.get(`/tfjs-models/tfjs/${NAME}/${shard}`)).to.equal(3);
    expect(sha256(path.join(result.dir, shard))).to.equal(sha256(path.join(SOURCE, shard)));
    expect(await verifyCachedModel(result.dir)).to.deep.equal([]);
    expectCacheEntries(home, [NAME]);
  });

  it('gives up with ERR_DOWNLOAD when the connection keeps dropping, leaving nothing in the cache', async () => {
    const shard = bigShard();
    server.faults.set(shard, { dropAfter: 1000 });
    const err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include(shard).and.include('3 attempts');
    expect(server.hits.get(`/tfjs-models/tfjs/${NAME}/${shard}`)).to.equal(3);
    expectCacheEntries(home, []);
    expect(findCachedModel(0.25, 224, home)).to.equal(undefined);
  });

  it('rejects a truncated shard (short but complete response) by the manifest size', async () => {
    const shard = bigShard();
    const bytes = fs.readFileSync(path.join(SOURCE, shard));
    server.faults.set(shard, { body: bytes.subarray(0, bytes.length - 100) });
    const err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.match(/bytes.*manifest|manifest.*bytes/);
    expectCacheEntries(home, []);
  });

  it('rejects a garbage shard of the right size (NaN/Inf weights) and garbage model.json', async () => {
    const shard = bigShard();
    const size = fs.statSync(path.join(SOURCE, shard)).size;
    const garbage = Buffer.alloc(size, 0xff); // every float32 is NaN
    server.faults.set(shard, { body: garbage });
    let err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include('corrupt').and.include('NaN');
    expectCacheEntries(home, []);

    server.faults.clear();
    server.faults.set('model.json', { body: Buffer.from('<html>captive portal</html>') });
    err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include('not valid JSON');
    expectCacheEntries(home, []);

    // A manifest naming a shard outside the model directory is refused before any request for it.
    const json = JSON.parse(fs.readFileSync(path.join(SOURCE, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../../etc/passwd'];
    server.faults.set('model.json', { body: Buffer.from(JSON.stringify(json)) });
    err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include('plain file name');
    expectCacheEntries(home, []);
  });

  it('a stalled shard times out and is retried; one that always stalls ends in ERR_DOWNLOAD', async () => {
    const shard = bigShard();
    server.faults.set(shard, { stallAfter: 1000, times: 1 });
    const retries: string[] = [];
    const ok = await fetchModel(0.25, 224, { ...fast, timeoutMs: 300, home, baseUrl: server.baseUrl, onRetry: (_url, _attempt, e) => retries.push(e.message) });
    expect(retries.join('\n')).to.include('no data for 300 ms');
    expect(await verifyCachedModel(ok.dir)).to.deep.equal([]);

    server.faults.set(shard, { stallAfter: 1000 });
    const err = await rejection(fetchModel(0.25, 224, { ...fast, timeoutMs: 300, home, force: true, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include(shard).and.include('no data for 300 ms');
    expect(findCachedModel(0.25, 224, home), 'the earlier good copy stays').to.be.a('string');
  });

  it('follows a redirect, and stops a redirect loop with ERR_DOWNLOAD', async () => {
    server.faults.set('model.json', { redirectTo: `/tfjs-models/tfjs/${NAME}/model.json?moved=1`, times: 1 });
    const ok = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    expect(ok.cached).to.equal(false);

    server.faults.set('model.json', { redirectTo: 'model.json' });
    server.hits.clear();
    const err = await rejection(fetchModel(0.25, 224, { ...fast, home, force: true, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include('too many redirects');
    expect(server.hits.get(`/tfjs-models/tfjs/${NAME}/model.json`)).to.be.at.most(3 * 6);
  });

  it('two fetches into one cache at once both end with the one verified model', async () => {
    const [a, b] = await Promise.all([
      fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }),
      fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }),
    ]);
    expect(a.dir).to.equal(b.dir);
    expectCacheEntries(home, [NAME]);
    expect(await verifyCachedModel(a.dir)).to.deep.equal([]);
    const m = await load({ weights: a.modelJson });
    m.dispose();
  });

  it('reports HTTP errors without retrying 404 and retrying 503', async () => {
    let err = await rejection(fetchModel(0.25, 192, { ...fast, home, baseUrl: server.baseUrl }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include('404').and.include('mobilenet_v1_0.25_192/model.json');
    expect(server.hits.get('/tfjs-models/tfjs/mobilenet_v1_0.25_192/model.json')).to.equal(1);

    server.faults.set('model.json', { status: 503, times: 1 });
    const ok = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    expect(ok.cached).to.equal(false);

    err = await rejection(fetchModel(0.25, 224, { ...fast, home, force: true, baseUrl: 'http://127.0.0.1:1' }));
    expect(err.code).to.equal('ERR_DOWNLOAD');
    expect(err.message).to.include('ECONNREFUSED');
    // The failed forced download left the earlier good copy alone.
    expect(findCachedModel(0.25, 224, home)).to.be.a('string');
  });

  it('never reports a directory without a matching marker as cached', async () => {
    const dir = path.join(home, NAME);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of releaseFiles()) fs.copyFileSync(path.join(SOURCE, f), path.join(dir, f));
    expect(findCachedModel(0.25, 224, home), 'no marker').to.equal(undefined);
    await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    expect(findCachedModel(0.25, 224, home)).to.be.a('string');
    const shard = path.join(dir, bigShard());
    fs.truncateSync(shard, 10);
    expect(findCachedModel(0.25, 224, home), 'truncated shard').to.equal(undefined);
    // A same-size edit passes the cheap check but not verification, so fetch repairs it.
    await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    fs.writeFileSync(shard, Buffer.alloc(fs.statSync(shard).size, 0));
    expect((await verifyCachedModel(dir)).join()).to.include('sha256');
    const repaired = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    expect(repaired.cached).to.equal(false);
    expect(await verifyCachedModel(dir)).to.deep.equal([]);
  });

  it('one policy for official weights: cached release, bundled default, download on request, or a hint to fetch', async () => {
    expect(officialWeightsPath(0.25, 224, home)).to.equal(BUNDLED_WEIGHTS);
    expect(officialWeightsPath(0.5, 160, home)).to.equal(undefined);
    const missing = await rejection(officialWeights(0.5, 160, false, home));
    expect(missing.code).to.equal('ERR_WEIGHTS');
    expect(missing.message).to.include('mobilenet fetch --alpha 0.5 --resolution 160').and.include('download: true');
    expect(() => officialWeightsPath(0.3, 224, home)).to.throw(MobileNetError).with.property('code', 'ERR_INVALID_ARGUMENT');
    expect((await rejection(load({ alpha: 0.3 }))).code).to.equal('ERR_INVALID_ARGUMENT');
    expect(await officialWeights(0.25, 224, { ...fast, home, baseUrl: server.baseUrl })).to.equal(BUNDLED_WEIGHTS);  // bundled: nothing fetched
    await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
    expect(officialWeightsPath(0.25, 224, home)).to.equal(path.join(home, NAME, 'model.json'));
  });

  it('`mobilenet fetch` CLI downloads into $MOBILENET_HOME and prints the model path', async function () {
    const env = { ...process.env, MOBILENET_HOME: home };
    // Asynchronous spawn: the server lives in this process and must keep answering.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
          resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
      });
    const ok = await run(['fetch', '--alpha', '0.25', '--resolution', '224', '--base-url', server.baseUrl]);
    expect(ok.stderr).to.include('downloaded');
    expect(ok.status).to.equal(0);
    expect(ok.stdout.trim()).to.equal(path.join(home, NAME, 'model.json'));
    const again = await run(['fetch', '--alpha', '0.25', '--resolution', '224', '--base-url', server.baseUrl]);
    expect(again.status).to.equal(0);
    expect(again.stderr).to.include('already cached');
    const bad = await run(['fetch', '--alpha', '0.3', '--resolution', '224', '--base-url', server.baseUrl]);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include('ERR_INVALID_ARGUMENT').and.include('0.3');
    const missing = await run(['fetch', '--alpha', '0.25', '--resolution', '128', '--base-url', server.baseUrl]);
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.include('ERR_DOWNLOAD').and.include('404');
  });
});
