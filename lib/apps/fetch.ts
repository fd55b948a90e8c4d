/**
 * `mobilenet-native/fetch`: the official releases' cache and downloader, for scripts that fetch
 * ahead of time (the `mobilenet fetch` command is cli/commands/fetch.ts). The mechanism is the
 * core's (lib/core/weights), because load({ download: true }) uses it too.
 */
export {
  DEFAULT_BASE_URL, fetchModel, findCachedModel, modelHome, officialModelName, officialModelUrl, officialWeights, officialWeightsPath,
  OFFICIAL_ALPHAS, OFFICIAL_RESOLUTIONS, verifyCachedModel, type CompleteMarker, type FetchOptions, type FetchResult,
} from '../core';
