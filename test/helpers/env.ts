import { load, type LoadOptions, type MobileNet } from '../../lib';

/**
 * Loads a model with the given engine switches (MOBILENET_DW_FUSION, MOBILENET_LAYOUT, …; undefined:
 * unset) in the environment while its engine is built, which is when they are read.
 */
export async function loadWithEnv(env: Record<string, string | undefined>, options: LoadOptions): Promise<MobileNet> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  try {
    set(env);
    return await load(options);
  } finally {
    set(saved);
  }
}
