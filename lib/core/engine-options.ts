/**
 * Engine tuning, typed: `load({ engine: { … } })`. Every default is the measured best for the CPU
 * (docs/engine-notes.md); the options exist for A/B measurements and for hosts that differ.
 */
import { LIMITS } from './limits';
import * as v from './validate';

export type WaitPolicy = 'auto' | 'active' | 'passive';

export interface EngineOptions {
  /**
   * Activation layout of fp32 plans (reduced precisions always use oneDNN's choice unless set):
   * 'auto' (default: nChw16c on AVX-512 when the first conv has ≥ 16 channels, else nhwc up to
   * `nhwcMaxBatch` and oneDNN's choice above), 'nhwc', 'any' (oneDNN's choice) or 'nChw16c'.
   */
  layout?: 'auto' | 'nhwc' | 'any' | 'nChw16c';
  /** Run each 1×1 conv with the depthwise conv after it as one primitive: 'auto' (default: int8 and nChw16c plans), true or false. */
  fuseDepthwise?: 'auto' | boolean;
  /** With layout 'auto' on a CPU without AVX-512: fp32 batches up to this size run in nhwc (default 2; 0: never). */
  nhwcMaxBatch?: number;
  /** Activation arenas of 2 MiB and more on transparent huge pages (default true). */
  hugePages?: boolean;
  /**
   * libgomp's wait policy (OMP_WAIT_POLICY): 'auto' (default: spin, unless the load average says
   * the cores are oversubscribed), 'active' or 'passive'. libgomp reads it once, when the engine is
   * first loaded in the process, so it takes effect on the first load() only; a later load() that
   * asks for another policy fails with ERR_UNSUPPORTED.
   */
  waitPolicy?: WaitPolicy;
}

const KEYS = new Set(['layout', 'fuseDepthwise', 'nhwcMaxBatch', 'hugePages', 'waitPolicy']);

/** Checks `load()`'s `engine` option; undefined means every default. */
export function checkEngineOptions(value: unknown): EngineOptions {
  if (value === undefined) return {};
  const o = v.plainObject(value, 'engine');
  v.knownKeys(o, 'engine option', KEYS);
  v.optional(o.layout, (x) => v.oneOf(x, 'engine.layout', ['auto', 'nhwc', 'any', 'nChw16c']));
  v.optional(o.fuseDepthwise, (x) => v.oneOf(x, 'engine.fuseDepthwise', ['auto', true, false]));
  v.optional(o.hugePages, (x) => v.bool(x, 'engine.hugePages'));
  v.optional(o.waitPolicy, (x) => v.oneOf(x, 'engine.waitPolicy', ['auto', 'active', 'passive']));
  v.optional(o.nhwcMaxBatch, (x) => v.int(x, 'engine.nhwcMaxBatch', 0, LIMITS.batch));
  return o as EngineOptions;
}
