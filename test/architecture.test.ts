/**
 * The layering of lib/ (README "Architecture"): apps use only the core's public entry
 * (lib/core/index.ts), the core never reaches into the apps, and only lib/core/env.ts reads the
 * environment. Read from the sources, so a new import that crosses a layer fails here before anyone
 * has to notice it in review.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');
const LIB = path.join(REPO, 'lib');
const CORE = path.join(LIB, 'core');
const APPS = path.join(LIB, 'apps');
const CORE_ENTRY = path.join(CORE, 'index');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of import/export … from, require() and import(), resolved to paths without extension. */
export function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g)) {
    found.push(path.resolve(path.dirname(file), m[1]).replace(/\.(js|ts)$/, ''));
  }
  return found;
}

const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(dir + path.sep);

/** Every import that crosses a layer the wrong way, as "file → target". */
export function layerViolations(): string[] {
  const bad: string[] = [];
  const rel = (p: string): string => path.relative(REPO, p);
  for (const file of sources(APPS)) {
    for (const target of importsOf(file)) {
      const intoCore = inside(target, CORE) && target !== CORE_ENTRY && target !== CORE;
      const intoPackageEntry = target === path.join(LIB, 'index') || target === LIB;
      if (intoCore || intoPackageEntry) bad.push(`${rel(file)} → ${rel(target)} (apps import only lib/core/index.ts)`);
    }
  }
  for (const file of sources(CORE)) {
    for (const target of importsOf(file)) {
      if (!inside(target, CORE)) bad.push(`${rel(file)} → ${rel(target)} (the core imports nothing outside lib/core)`);
    }
  }
  return bad;
}

describe('architecture: lib/core and lib/apps', function () {
  it('apps import only the core entry; the core imports nothing outside itself', () => {
    expect(layerViolations()).to.deep.equal([]);
  });

  it('the check sees each kind of import', () => {
    const file = path.join(APPS, 'batch.ts');
    const all = importsOf(file);
    expect(all).to.include(CORE);
    expect(importsOf(path.join(LIB, 'index.ts'))).to.include(path.join(CORE, 'public'));
  });

  it('the core reads the environment only in lib/core/env.ts', () => {
    const readers = sources(CORE).filter((f) => f !== path.join(CORE, 'env.ts') && /\bprocess\.env\b/.test(fs.readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')));
    expect(readers.map((f) => path.relative(REPO, f))).to.deep.equal([]);
  });

  it('lib/index.ts only re-exports the public API of the core (lib/core/public.ts)', () => {
    expect(importsOf(path.join(LIB, 'index.ts'))).to.deep.equal([path.join(CORE, 'public')]);
  });
});
