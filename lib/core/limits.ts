/**
 * The one table of limits. lib/ checks callers against it at the boundary, and the addon gets it
 * when a model is created (its own checks use these values, not copies).
 */
export const LIMITS = {
  /** Images in one infer() call. */
  batch: 65536,
  /** Images in one profiled pass, and timed repetitions. */
  profileBatch: 1024,
  profileRuns: 10000,
  /** Images merged into one forward pass by the executor (load's maxBatch). */
  maxBatch: 1024,
  /** Input side in pixels. */
  resolution: { min: 32, max: 4096 },
  /** Classifier outputs of random weights. */
  classes: 100000,
  /** OpenMP threads of one model. */
  threads: 1024,
  /** How long a lone request may wait for company, in ms. */
  maxWaitMs: 1000,
} as const;

/** What the addon reads (native/addon/convert.h, Limits). */
export const NATIVE_LIMITS = { batch: LIMITS.batch, profileBatch: LIMITS.profileBatch, profileRuns: LIMITS.profileRuns };
