/**
 * One entry point for every weight file format; the format is chosen from the path.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelWeights } from './types';
import { loadTfjsLayers } from './tfjs';
import { loadTfSlimFrozen } from './tfslim';
import { loadSafetensors } from './safetensors';
import { weightsError } from './validate';

export { randomWeights } from './random';
export { loadTfjsLayers } from './tfjs';
export { loadTfSlimFrozen } from './tfslim';
export { loadSafetensors } from './safetensors';
export type { ModelWeights } from './types';

export type WeightFormat = 'tfjs-layers' | 'tf-slim-frozen' | 'safetensors';

/** The format of a weight path, from its name (and, for a directory, what it contains). */
export function detectFormat(source: string): { format: WeightFormat; file: string } {
  if (typeof source !== 'string' || source.length === 0) throw weightsError(`weights must be a non-empty path string, got ${typeof source}`);
  const resolved = path.resolve(source);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    throw weightsError(`weight file ${resolved} does not exist`);
  }
  if (stat.isDirectory()) {
    const candidates: Array<[string, WeightFormat]> = [
      ['model.json', 'tfjs-layers'],
      ['frozen_graph.pb', 'tf-slim-frozen'],
      ['model.safetensors', 'safetensors'],
    ];
    for (const [name, format] of candidates) {
      const file = path.join(resolved, name);
      if (fs.existsSync(file)) return { format, file };
    }
    throw weightsError(`directory ${resolved} holds no model.json, frozen_graph.pb or model.safetensors`);
  }
  const lower = resolved.toLowerCase();
  if (lower.endsWith('.json')) return { format: 'tfjs-layers', file: resolved };
  if (lower.endsWith('.pb')) return { format: 'tf-slim-frozen', file: resolved };
  if (lower.endsWith('.safetensors')) return { format: 'safetensors', file: resolved };
  throw weightsError(`cannot tell the weight format of ${resolved}: expected a directory with model.json, a *.json (TF.js layers), *.pb (TF-slim frozen graph) or *.safetensors file`);
}

export async function loadWeights(source: string): Promise<ModelWeights> {
  const { format, file } = detectFormat(source);
  switch (format) {
    case 'tfjs-layers':
      return loadTfjsLayers(file);
    case 'tf-slim-frozen':
      return loadTfSlimFrozen(file);
    case 'safetensors':
      return loadSafetensors(file);
  }
}
