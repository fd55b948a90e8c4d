/**
 * Attacks on the weight loaders: manifests whose shard names leave the model folder or name files
 * that are not weight files (devices, FIFOs, symlinks, directories), and fetched models changed
 * after their download. Each must end in ERR_WEIGHTS quickly, reading nothing it should not.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { load, MobileNetError } from '../lib';
import { loadWeights } from '../lib/core/weights';
import { loadSafetensors } from '../lib/core/weights/safetensors';
import { loadTfSlimFrozen } from '../lib/core/weights/tfslim';
import { copyModelDir, readJson, removeDir, slimGraph, tempDir, TFJS_025, writeJson } from './helpers/weights-fixtures';

const FIRST_SHARD = 'mobilenet_group1-shard1of1'; // 864 bytes: conv1/kernel

/** Loads `dir` and returns the ERR_WEIGHTS error, with how long it took and how much RSS grew. */
async function weightsFailure(load: () => Promise<unknown>): Promise<{ err: MobileNetError; ms: number; rssMb: number }> {
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  try {
    await load();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(MobileNetError);
    expect((e as MobileNetError).code).to.equal('ERR_WEIGHTS');
    return { err: e as MobileNetError, ms: Date.now() - t0, rssMb: (process.memoryUsage().rss - rss0) / 2 ** 20 };
  }
  throw new Error('expected ERR_WEIGHTS, but the load succeeded');
}

describe('attack: weight files', function () {
  this.timeout(60_000);
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = copyModelDir(TFJS_025);
    outside = tempDir('mobilenet-outside-');
  });
  afterEach(() => {
    removeDir(dir);
    removeDir(outside);
  });

  /** Points the first group's shard at `name` in model.json. */
  function setShard(name: string): void {
    const json = readJson(path.join(dir, 'model.json'));
    json.weightsManifest[0].paths = [name];
    writeJson(path.join(dir, 'model.json'), json);
  }

  const escapes: Array<[string, () => string]> = [
    ['/etc/passwd (absolute path)', () => '/etc/passwd'],
    ['/proc/self/environ (absolute path)', () => '/proc/self/environ'],
    ['/dev/zero (an endless device)', () => '/dev/zero'],
    ['../<file> (a parent directory)', () => `../${path.basename(outside)}/stolen`],
    ['sub/<file> (a subdirectory)', () => 'sub/shard'],
  ];
  for (const [what, name] of escapes) {
    it(`refuses a shard named ${what} without reading it`, async () => {
      fs.writeFileSync(path.join(outside, 'stolen'), Buffer.alloc(864));
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.copyFileSync(path.join(dir, FIRST_SHARD), path.join(dir, 'sub', 'shard'));
      setShard(name());
      const { err, rssMb } = await weightsFailure(() => load({ weights: dir }));
      expect(err.message).to.include('plain file name');
      expect(err.message).not.to.match(/\d+ B\)/); // the message never reveals the target's size
      expect(rssMb).to.be.below(64);
    });
  }

  it('refuses a FIFO named as a shard at once (a read would block forever)', async () => {
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    setShard('pipe');
    const { err } = await weightsFailure(() => load({ weights: dir }));
    expect(err.message).to.include('named pipe');
  });

  it('refuses a symlink in the folder that points at /dev/zero or outside', async () => {
    for (const target of ['/dev/zero', '/etc/passwd', path.join(TFJS_025, FIRST_SHARD)]) {
      fs.rmSync(path.join(dir, 'link'), { force: true });
      fs.symlinkSync(target, path.join(dir, 'link'));
      setShard('link');
      const { err, rssMb } = await weightsFailure(() => load({ weights: dir }));
      expect(err.message).to.include('symbolic link');
      expect(rssMb).to.be.below(64);
    }
  });

  it('refuses a directory named as a shard', async () => {
    fs.mkdirSync(path.join(dir, 'adir'));
    setShard('adir');
    expect((await weightsFailure(() => load({ weights: dir }))).err.message).to.include('directory');
  });

  it('checks a shard\'s size against the manifest before reading a byte (a 1 GB sparse file is not read)', async () => {
    const big = path.join(dir, FIRST_SHARD);
    fs.truncateSync(big, 2 ** 30);
    const { err, rssMb } = await weightsFailure(() => load({ weights: dir }));
    expect(err.message).to.include(`${FIRST_SHARD} (${2 ** 30} B)`).and.include('need 864');
    expect(rssMb).to.be.below(64);
  });

  it('refuses a model.json that is a FIFO or a link to /dev/zero', async () => {
    fs.rmSync(path.join(dir, 'model.json'));
    execFileSync('mkfifo', [path.join(dir, 'model.json')]);
    expect((await weightsFailure(() => load({ weights: dir }))).err.message).to.include('named pipe');
    fs.rmSync(path.join(dir, 'model.json'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'model.json'));
    const { err, rssMb } = await weightsFailure(() => load({ weights: dir }));
    expect(err.message).to.include('device');
    expect(rssMb).to.be.below(64);
  });

  it('refuses a TF-slim graph or safetensors file that is a FIFO or a device', async () => {
    execFileSync('mkfifo', [path.join(outside, 'frozen_graph.pb')]);
    execFileSync('mkfifo', [path.join(outside, 'x.safetensors')]);
    fs.symlinkSync('/dev/zero', path.join(outside, 'zero.safetensors'));
    expect((await weightsFailure(() => loadTfSlimFrozen(path.join(outside, 'frozen_graph.pb')))).err.message).to.include('named pipe');
    expect((await weightsFailure(() => loadSafetensors(path.join(outside, 'x.safetensors')))).err.message).to.include('named pipe');
    expect((await weightsFailure(() => loadWeights(path.join(outside, 'zero.safetensors')))).err.message).to.include('device');
    // The real files still load through the same reader.
    expect((await loadTfSlimFrozen(slimGraph(128))).arch.resolution).to.equal(128);
  });
});
