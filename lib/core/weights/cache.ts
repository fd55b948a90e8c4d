/**
 * The official TF.js MobileNet v1 releases and their local cache: names, URLs, where copies live and
 * whether a copy is complete. Downloading is download.ts; choosing weights by (α, resolution) is official.ts.
 *
 * Cache layout: `$MOBILENET_HOME` (default `$XDG_CACHE_HOME/mobilenet-native`, else
 * `~/.cache/mobilenet-native`) / `mobilenet_v1_<α>_<R>/` holding `model.json`, its shards and a
 * `.complete` marker (JSON: source URL, byte size and sha256 of every file). `findCachedModel`
 * ignores any directory without a marker whose sizes match, so a killed download or a hand-edited
 * file is never loaded.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { baseUrlOverride, modelHome } from '../env';
import { describe, fail } from '../errors';
import { COMPLETE_MARKER } from './files';

export { modelHome } from '../env';

export const OFFICIAL_ALPHAS = [1, 0.75, 0.5, 0.25] as const;
export const OFFICIAL_RESOLUTIONS = [224, 192, 160, 128] as const;
/** Where @tensorflow-models/mobilenet (v1) loads these models from. */
export const DEFAULT_BASE_URL = 'https://storage.googleapis.com';
/** Path of a model under the base URL; mirrors must keep this layout. */
const MODEL_PATH_PREFIX = 'tfjs-models/tfjs';
export const MARKER = COMPLETE_MARKER;

export interface CompleteMarker {
  name: string;
  alpha: number;
  resolution: number;
  url: string;
  downloadedAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** True for an (α, resolution) pair that was released. */
export function isOfficial(alpha: number, resolution: number): boolean {
  return (OFFICIAL_ALPHAS as readonly number[]).includes(alpha) && (OFFICIAL_RESOLUTIONS as readonly number[]).includes(resolution);
}

export function checkOfficial(alpha: unknown, resolution: unknown): { alpha: number; resolution: number } {
  if (typeof alpha !== 'number' || !(OFFICIAL_ALPHAS as readonly number[]).includes(alpha))
    fail('ERR_INVALID_ARGUMENT', `alpha must be one of ${OFFICIAL_ALPHAS.join(', ')} (the official MobileNet v1 releases), got ${describe(alpha)}`);
  if (typeof resolution !== 'number' || !(OFFICIAL_RESOLUTIONS as readonly number[]).includes(resolution))
    fail('ERR_INVALID_ARGUMENT', `resolution must be one of ${OFFICIAL_RESOLUTIONS.join(', ')} (the official MobileNet v1 releases), got ${describe(resolution)}`);
  return { alpha, resolution };
}

/** The release name, e.g. mobilenet_v1_0.50_160 (α written 1.0, 0.75, 0.50, 0.25 as in the bucket). */
export function officialModelName(alpha: number, resolution: number): string {
  checkOfficial(alpha, resolution);
  const a = alpha === 1 ? '1.0' : alpha.toFixed(2);
  return `mobilenet_v1_${a}_${resolution}`;
}

export function officialModelUrl(alpha: number, resolution: number, baseUrl: string = defaultBaseUrl()): string {
  return `${baseUrl.replace(/\/+$/, '')}/${MODEL_PATH_PREFIX}/${officialModelName(alpha, resolution)}/model.json`;
}

export function defaultBaseUrl(): string {
  return baseUrlOverride() ?? DEFAULT_BASE_URL;
}

export function readMarker(dir: string): CompleteMarker | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')) as CompleteMarker;
    if (!m || typeof m.files !== 'object' || m.files === null || !m.files['model.json']) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/**
 * The model.json of a complete cached copy of the official (alpha, resolution) release, or undefined.
 * Cheap (stats only): the marker must exist and every file must have the size it records.
 * Throws ERR_INVALID_ARGUMENT for a combination that was never released.
 */
export function findCachedModel(alpha: number, resolution: number, home: string = modelHome()): string | undefined {
  const dir = path.join(home, officialModelName(alpha, resolution));
  const marker = readMarker(dir);
  if (!marker) return undefined;
  for (const [file, { bytes }] of Object.entries(marker.files)) {
    try {
      if (fs.statSync(path.join(dir, file)).size !== bytes) return undefined;
    } catch {
      return undefined;
    }
  }
  return path.join(dir, 'model.json');
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Re-hashes every file of a cached model against its marker; returns the problems found (empty when intact). */
export async function verifyCachedModel(dir: string): Promise<string[]> {
  const marker = readMarker(dir);
  if (!marker) return [`${dir} has no valid ${MARKER} marker`];
  const problems: string[] = [];
  for (const [file, { bytes, sha256 }] of Object.entries(marker.files)) {
    const p = path.join(dir, file);
    try {
      const size = (await fsp.stat(p)).size;
      if (size !== bytes) problems.push(`${file}: ${size} bytes, expected ${bytes}`);
      else if ((await sha256File(p)) !== sha256) problems.push(`${file}: sha256 does not match the one recorded at download`);
    } catch {
      problems.push(`${file}: missing`);
    }
  }
  return problems;
}
