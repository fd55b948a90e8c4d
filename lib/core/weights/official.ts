/**
 * The one policy that turns an (α, resolution) request into weights, for load() and the apps alike:
 * a complete cached release (cache.ts), else the bundled α=0.25/224 copy, else a download when the
 * caller asks for one (download.ts), else ERR_WEIGHTS naming both ways to get it. A pair that was
 * never released is ERR_INVALID_ARGUMENT.
 */
import * as path from 'path';
import { fail } from '../errors';
import { findCachedModel, isOfficial, modelHome, OFFICIAL_ALPHAS, OFFICIAL_RESOLUTIONS } from './cache';
import { fetchModel, type FetchOptions } from './download';

/** The α=0.25/224 TF.js release that ships in the package, so load() works offline. */
export const BUNDLED_WEIGHTS = path.resolve(__dirname, '..', '..', '..', '..', 'weights', 'mobilenet_v1_0.25_224', 'model.json');

/** The official weights' model.json without downloading: the cached release, else the bundled copy, else undefined. */
export function officialWeightsPath(alpha: number, resolution: number, home: string = modelHome()): string | undefined {
  if (!isOfficial(alpha, resolution))
    fail('ERR_INVALID_ARGUMENT', `no official MobileNet v1 release has α=${alpha} and resolution ${resolution} (α ∈ {${OFFICIAL_ALPHAS.join(', ')}} × resolution ∈ {${OFFICIAL_RESOLUTIONS.join(', ')}}); use a weight file or random weights`);
  return findCachedModel(alpha, resolution, home) ?? (alpha === 0.25 && resolution === 224 ? BUNDLED_WEIGHTS : undefined);
}

/**
 * officialWeightsPath, downloading the release first when `download` says so (an object passes
 * FetchOptions, as load({ download }) does); ERR_WEIGHTS when it is missing.
 */
export async function officialWeights(alpha: number, resolution: number, download: boolean | FetchOptions = false, home?: string): Promise<string> {
  const options = typeof download === 'object' ? download : {};
  home ??= options.home ?? modelHome();
  const found = officialWeightsPath(alpha, resolution, home);
  if (found) return found;
  if (download) return (await fetchModel(alpha, resolution, { ...options, home })).modelJson;
  return fail('ERR_WEIGHTS', `the official α=${alpha}/${resolution} model is not in the cache (${home}): load with download: true, or run \`mobilenet fetch --alpha ${alpha} --resolution ${resolution}\`, or pass a weight file or 'random'`);
}
