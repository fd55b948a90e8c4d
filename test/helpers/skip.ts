/**
 * One way to skip: with a reason that the reporter prints and CI checks against
 * test/expected-skips.json. Missing data skips locally but fails under CI=true.
 */
import * as fs from 'fs';

type Registry = Map<string, string>;
const KEY = '__mobilenetSkipReasons';
const g = globalThis as unknown as Record<string, Registry | undefined>;
/** Full title of a test or suite → why it was skipped (shared with the reporter through globalThis). */
export const skipReasons: Registry = (g[KEY] ??= new Map());

/** Skips the running test, or every test of the suite when called from a hook, recording why. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test;
  if (!runnable) throw new Error('skipBecause() must be called from a test or a hook');
  // In a hook, the skip covers the suite the hook belongs to.
  const target = (runnable as { type?: string }).type === 'hook' ? runnable.parent : runnable;
  skipReasons.set(target ? target.fullTitle() : runnable.fullTitle(), reason);
  ctx.skip();
  throw new Error('unreachable: ctx.skip() throws');
}

/** Files missing among `files` (absolute paths). */
function missing(files: string[]): string[] {
  return files.filter((f) => !fs.existsSync(f));
}

/**
 * Skips with a printed reason when a data file is missing; under CI=true a missing file fails the
 * test instead, since CI always has ../shared/data beside the clone.
 */
export function requireData(ctx: Mocha.Context, ...files: string[]): void {
  const absent = missing(files);
  if (absent.length === 0) return;
  const what = `needs ${absent.join(', ')} (set MOBILENET_DATA to the shared data folder)`;
  if (process.env.CI === 'true') throw new Error(`${what}: under CI=true missing data fails instead of skipping`);
  skipBecause(ctx, what);
}

/** Like requireData, for a program that CI installs (.ci/run) and a developer may not have. */
export function requireTool(ctx: Mocha.Context, file: string, install: string): void {
  if (fs.existsSync(file)) return;
  const what = `needs ${file} (${install})`;
  if (process.env.CI === 'true') throw new Error(`${what}: under CI=true a missing tool fails instead of skipping`);
  skipBecause(ctx, what);
}
