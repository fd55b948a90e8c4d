/**
 * Optional dependencies: the packages that only `serve` (fastify, @fastify/multipart, prom-client)
 * and `report` (vega, vega-lite) use are optionalDependencies, loaded on first use, so that the core
 * library installs without them (npm install --omit=optional).
 */
import * as fs from 'fs';
import * as path from 'path';
import { MobileNetError } from './errors';

function declaredRange(name: string): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
    const range = pkg.optionalDependencies?.[name];
    return range ? `${name}@${range}` : name;
  } catch {
    return name;
  }
}

/** The error for an optional package that is not installed, naming it and how to install it. */
export function missingOptional(names: string[], feature: string, cause?: unknown): MobileNetError {
  const list = names.map((n) => `'${n}'`).join(' and ');
  return new MobileNetError(
    'ERR_UNSUPPORTED',
    `${feature} needs the optional package${names.length > 1 ? 's' : ''} ${list}, not installed here (it was installed with --omit=optional, or an optional install failed): npm install ${names.map(declaredRange).join(' ')}`,
    cause === undefined ? undefined : { cause },
  );
}

/** require() of an optional CommonJS package; a missing one is ERR_UNSUPPORTED naming it, anything else rethrows. */
export function requireOptional<T>(name: string, feature: string): T {
  try {
    return require(name) as T; // eslint-disable-line @typescript-eslint/no-require-imports
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${name}'`)) throw missingOptional([name], feature, e);
    throw e;
  }
}
