/**
 * Engine tuning, typed: `load({ engine: { … } })`. Every default is the measured best for the CPU
 * (docs/engine-notes.md); the options exist for A/B measurements and for hosts that differ.
 */
import { describe, fail } from './errors';

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
const LAYOUTS = ['auto', 'nhwc', 'any', 'nChw16c'];
const WAIT_POLICIES = ['auto', 'active', 'passive'];

/** Checks `load()`'s `engine` option; undefined means every default. */
export function checkEngineOptions(value: unknown): EngineOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail('ERR_INVALID_ARGUMENT', `engine must be an object, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!KEYS.has(key)) fail('ERR_INVALID_ARGUMENT', `unknown engine option '${key}'; known: ${[...KEYS].join(', ')}`);
  const oneOf = (key: string, allowed: unknown[]) => {
    if (o[key] !== undefined && !allowed.includes(o[key]))
      fail('ERR_INVALID_ARGUMENT', `engine.${key} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(o[key])}`);
  };
  oneOf('layout', LAYOUTS);
  oneOf('fuseDepthwise', ['auto', true, false]);
  oneOf('hugePages', [true, false]);
  oneOf('waitPolicy', WAIT_POLICIES);
  const n = o.nhwcMaxBatch;
  if (n !== undefined && !(typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65536))
    fail('ERR_INVALID_ARGUMENT', `engine.nhwcMaxBatch must be an integer from 0 to 65536, got ${describe(n)}`);
  return o as EngineOptions;
}
