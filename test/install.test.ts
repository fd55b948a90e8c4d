/**
 * The install story in-process: the addon loader's search and its error, the optional-package
 * messages, and binding.gyp's oneDNN check and agreement with CMakeLists.txt. (The packed tarball
 * itself is tested by scripts/pack-test.sh, which needs root for its mount namespace.)
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MobileNetError } from '../lib/core/errors';
import { addonCandidates, loadAddon } from '../lib/core/native';
import { requireOptional } from '../lib/core/optional';
import { REPO_ROOT } from './helpers/images';

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-install-'));
}

function loadError(root: string): MobileNetError {
  try {
    loadAddon(root);
  } catch (e) {
    expect(e).to.be.instanceOf(MobileNetError);
    return e as MobileNetError;
  }
  throw new Error('expected loadAddon to throw');
}

describe('install: addon loader', () => {
  let root: string;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('looks for a local build, then the prebuild for this platform', () => {
    expect(addonCandidates(root)).to.deep.equal([
      path.join(root, 'build', 'Release', 'mobilenet_native.node'),
      path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'mobilenet_native.node'),
    ]);
  });

  it('without any addon: names the fix and lists every path it tried, in full', () => {
    const e = loadError(root);
    expect(e.code).to.equal('ERR_UNSUPPORTED');
    expect(e.message).to.include('npm rebuild mobilenet-native');
    expect(e.message).to.include('pnpm approve-builds');
    expect(e.message).to.include('libdnnl-dev');
    const tried = e.message.split('\n').filter((l) => l.startsWith('  /'));
    for (const file of addonCandidates(root)) expect(tried).to.include(`  ${file}: not found`);
    // bindings' own search (build/Debug, out/Release, compiled/…) is listed too, not cut to one line.
    expect(tried.length).to.be.greaterThan(5);
    expect(tried.filter((l) => l.includes('(bindings)')).every((l) => l.startsWith(`  ${root}`))).to.equal(true);
  });

  it('an addon that exists but cannot load: the path and the loader error', () => {
    const broken = addonCandidates(root)[1];
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    fs.writeFileSync(broken, 'not an ELF file');
    const e = loadError(root);
    expect(e.message).to.match(new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(invalid ELF header|file too short)`));
  });

  it('loads a copy of the built addon from prebuilds/ (child process)', () => {
    const built = path.join(REPO_ROOT, 'build', 'Release', 'mobilenet_native.node');
    const target = addonCandidates(root)[1];
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(built, target);
    const script = `const { loadAddon } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'lib', 'core', 'native.js'))});
      const a = loadAddon(${JSON.stringify(root)});
      console.log(JSON.stringify({ onednn: a.info().onednn, file: Object.keys(require.cache).find((k) => k.endsWith('.node')) }));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.file).to.equal(target);
    expect(out.onednn).to.match(/^2\./);
  });
});

describe('install: optional packages', () => {
  it('a missing optional package is ERR_UNSUPPORTED naming it and how to install it', () => {
    let err: unknown;
    try {
      requireOptional('mobilenet-native-no-such-package', 'the test feature');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(MobileNetError);
    expect((err as MobileNetError).code).to.equal('ERR_UNSUPPORTED');
    expect((err as MobileNetError).message).to.match(/the test feature needs the optional package 'mobilenet-native-no-such-package'.*npm install mobilenet-native-no-such-package/);
  });

  it('a declared optional package is named with its version range', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    for (const name of ['fastify', '@fastify/multipart', 'prom-client', 'vega', 'vega-lite']) {
      expect(pkg.optionalDependencies, name).to.have.property(name);
      expect(pkg.dependencies, name).to.not.have.property(name);
    }
    expect(requireOptional<{ Registry: unknown }>('prom-client', 'metrics').Registry).to.be.a('function');
  });
});

describe('install: source build files', () => {
  const check = path.join(REPO_ROOT, 'scripts', 'check-onednn.js');

  it('binding.gyp runs the oneDNN check, which prints the text cmake/OneDNN.cmake prints', () => {
    const gyp = fs.readFileSync(path.join(REPO_ROOT, 'binding.gyp'), 'utf8');
    expect(gyp).to.include('node scripts/check-onednn.js');
    expect(fs.readFileSync(path.join(REPO_ROOT, 'cmake', 'OneDNN.cmake'), 'utf8')).to.include('onednn-missing.txt');
    const ok = spawnSync(process.execPath, [check], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stderr).to.equal('');  // gyp fails on any stderr output
  });

  it('without the oneDNN headers: exit 1 and what to install', () => {
    const dir = tempRoot();
    try {
      // A compiler that sees no system headers stands in for a machine without libdnnl-dev.
      const cxx = path.join(dir, 'cxx-without-headers');
      fs.writeFileSync(cxx, '#!/bin/sh\nexec c++ -nostdinc -nostdinc++ "$@"\n', { mode: 0o755 });
      const missing = fs.readFileSync(path.join(REPO_ROOT, 'cmake', 'onednn-missing.txt'), 'utf8').trim();
      const r = spawnSync(process.execPath, [check], { encoding: 'utf8', env: { ...process.env, CXX: cxx } });
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include('dnnl.hpp (oneDNN) not found');
      expect(r.stderr).to.include(missing);
      const none = spawnSync(process.execPath, [check], { encoding: 'utf8', env: { ...process.env, CXX: path.join(dir, 'no-compiler') } });
      expect(none.status).to.equal(1);
      expect(none.stderr).to.include('no C++ compiler');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CMakeLists.txt and binding.gyp list the same sources and defines; a drift is caught', () => {
    const script = path.join(REPO_ROOT, 'scripts', 'check-build-files.js');
    const ok = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).to.equal(0);
    const dir = tempRoot();
    try {
      fs.copyFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), path.join(dir, 'CMakeLists.txt'));
      const gyp = fs.readFileSync(path.join(REPO_ROOT, 'binding.gyp'), 'utf8');
      fs.writeFileSync(path.join(dir, 'binding.gyp'), gyp.replace(', "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"', ''));
      const bad = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.include('only in CMakeLists.txt: [NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS]');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
