/**
 * The core's one reader (and writer) of the process environment, so every variable it honours is
 * listed here. Each is read when asked for, not at import, because tests and the CLI set them late.
 *   MOBILENET_HOME, XDG_CACHE_HOME   where official weights are cached (weights/cache.ts)
 *   MOBILENET_BASE_URL               where they are downloaded from (a mirror)
 *   MOBILENET_NATIVE_PATH            another build of the addon (the sanitizer suite's)
 *   OMP_WAIT_POLICY, GOMP_SPINCOUNT  libgomp's, read once when the addon loads (native.ts)
 *   UV_THREADPOOL_SIZE               libuv's pool, which decodes images (image.ts)
 * MOBILENET_DATA (the test and bench data) belongs to the apps and tests, not to the core.
 */
import * as os from 'os';
import * as path from 'path';

/** The cache root: $MOBILENET_HOME, else $XDG_CACHE_HOME/mobilenet-native, else ~/.cache/mobilenet-native. */
export function modelHome(): string {
  if (process.env.MOBILENET_HOME) return path.resolve(process.env.MOBILENET_HOME);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'mobilenet-native');
}

/** A download mirror set by $MOBILENET_BASE_URL, or undefined. */
export function baseUrlOverride(): string | undefined {
  return process.env.MOBILENET_BASE_URL || undefined;
}

/** The addon file named by $MOBILENET_NATIVE_PATH, or undefined. */
export function addonOverride(): string | undefined {
  return process.env.MOBILENET_NATIVE_PATH || undefined;
}

/** True when the user chose libgomp's waiting themselves (OMP_WAIT_POLICY or GOMP_SPINCOUNT). */
export function userSetsOmpWait(): boolean {
  return process.env.OMP_WAIT_POLICY !== undefined || process.env.GOMP_SPINCOUNT !== undefined;
}

/**
 * Runs `load` with OMP_WAIT_POLICY set to `policy` ('default': unchanged), then restores it: libgomp
 * reads it once, while the addon loads, and child processes the user starts should not inherit it.
 */
export function withOmpWaitPolicy<T>(policy: 'active' | 'passive' | 'default', load: () => T): T {
  const saved = process.env.OMP_WAIT_POLICY;
  if (policy !== 'default') process.env.OMP_WAIT_POLICY = policy;
  try {
    return load();
  } finally {
    if (policy !== 'default') {
      if (saved === undefined) delete process.env.OMP_WAIT_POLICY;
      else process.env.OMP_WAIT_POLICY = saved;
    }
  }
}

/** libuv's thread pool size ($UV_THREADPOOL_SIZE, default 4): how many images decode at once. */
export function uvThreadpoolSize(): number {
  return Number(process.env.UV_THREADPOOL_SIZE) || 4;
}
