/** The server's options, checked once into settings, and the models it serves. */
import { MobileNet, MobileNetError, validate as v, type LoadOptions, type Preprocess } from '../../core';
import { coreBudget } from '../core-budget';

/** A weight path, load() options, or an already-loaded model (which the server then does not dispose). */
export type ModelSource = string | LoadOptions | MobileNet;

export interface ServerOptions {
  /** Models by name; the first is the default for requests without ?model=. Default: { default: the bundled model }. */
  models?: Record<string, ModelSource>;
  /** Largest request body (a raw image, or all files of a multipart body together), in MiB. Default 10. */
  maxBodyMb?: number;
  /** Largest decoded image, width·height. Larger ones get 413 ERR_IMAGE_TOO_LARGE. Default 40 M. */
  maxPixels?: number;
  /** How long a request may take from its body to its answer before 503 ERR_TIMEOUT. Default 30 000. */
  timeoutMs?: number;
  /** Most requests in flight per model; more get 503 ERR_QUEUE_FULL at once. Default 256. */
  maxQueue?: number;
  /**
   * Time bound of the queue: a request whose expected wait (requests in flight ÷ the measured
   * completion rate) is over this many ms gets 503 ERR_QUEUE_FULL at once. Default 5000.
   */
  maxQueueMs?: number;
  /** Images decoded at once per model, first come first served (default: the core budget's, cores + 1). */
  concurrency?: number;
  /** Most image files in one multipart request. Default 64. */
  maxFiles?: number;
  /** Default preprocessing when the request has no ?preprocess=. Default 'tfjs'. */
  preprocess?: Preprocess;
  /** OpenMP threads of each model the server loads (default: all cores). */
  threads?: number;
  /** Executor's batching wait for models the server loads, in ms (default 0: batch only what is already queued). */
  maxWaitMs?: number;
  /** Accept SVG bodies (rasterised in a child process killed at decodeTimeoutMs, one at a time). Default false: 415. */
  allowSvg?: boolean;
  /** Time limit of one image decode; the decode is stopped and the request gets 422 ERR_DECODE_TIMEOUT. Default 10 000. */
  decodeTimeoutMs?: number;
  /** Image decodes at once (default: the number of cores, at most 4); more wait, and /readyz says 503 while they do. */
  maxConcurrentDecodes?: number;
  /** fastify logger option (default off). */
  logger?: boolean | object;
}

/** A positive option (an integer with `integer`), or `fallback` when absent. */
function positive(value: unknown, name: string, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  return integer ? v.int(value, name, 1) : v.number(value, name, 0, Number.MAX_VALUE, true);
}

/** ServerOptions checked, with their defaults. */
export interface ServerSettings {
  maxBody: number;
  maxPixels: number;
  timeoutMs: number;
  maxQueue: number;
  maxQueueMs: number;
  decoders: number;
  maxFiles: number;
  defaultPreprocess: Preprocess;
  decodeTimeoutMs: number;
  maxConcurrentDecodes: number | undefined;
  /** load() options of the models the server loads itself. */
  base: LoadOptions;
}

export function serverSettings(options: ServerOptions): ServerSettings {
  const maxBody = Math.floor(positive(options.maxBodyMb, 'maxBodyMb', 10, false) * 1024 * 1024);
  const maxPixels = positive(options.maxPixels, 'maxPixels', 40_000_000, true);
  const timeoutMs = positive(options.timeoutMs, 'timeoutMs', 30_000, false);
  const maxQueue = positive(options.maxQueue, 'maxQueue', 256, true);
  const maxQueueMs = positive(options.maxQueueMs, 'maxQueueMs', 5000, false);
  const decoders = positive(options.concurrency, 'concurrency', coreBudget().decoders, true);
  const maxFiles = positive(options.maxFiles, 'maxFiles', 64, true);
  const defaultPreprocess = v.preprocess(options.preprocess ?? 'tfjs');
  const base: LoadOptions = {};
  if (options.threads !== undefined) base.threads = options.threads;
  if (options.maxWaitMs !== undefined) base.maxWaitMs = options.maxWaitMs;
  const decodeTimeoutMs = positive(options.decodeTimeoutMs, 'decodeTimeoutMs', 10_000, false);
  const maxConcurrentDecodes = options.maxConcurrentDecodes === undefined ? undefined : positive(options.maxConcurrentDecodes, 'maxConcurrentDecodes', 4, true);
  return { maxBody, maxPixels, timeoutMs, maxQueue, maxQueueMs, decoders, maxFiles, defaultPreprocess, decodeTimeoutMs, maxConcurrentDecodes, base };
}

export async function loadModels(sources: Record<string, ModelSource>, base: LoadOptions): Promise<{ models: Map<string, MobileNet>; owned: MobileNet[] }> {
  const models = new Map<string, MobileNet>();
  const owned: MobileNet[] = [];
  try {
    for (const [name, source] of Object.entries(sources)) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new MobileNetError('ERR_INVALID_ARGUMENT', `a model name must be letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`);
      if (source instanceof MobileNet) {
        models.set(name, source);
        continue;
      }
      const opts: LoadOptions = typeof source === 'string' ? { ...base, weights: source } : { ...base, ...source };
      const m = await MobileNet.load(opts);
      owned.push(m);
      models.set(name, m);
    }
  } catch (e) {
    for (const m of owned) m.dispose();
    throw e;
  }
  if (models.size === 0) throw new MobileNetError('ERR_INVALID_ARGUMENT', 'the server needs at least one model');
  return { models, owned };
}
