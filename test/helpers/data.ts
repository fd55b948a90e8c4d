/**
 * Where the tests find data: the shared folder ($MOBILENET_DATA, default ../shared/data) for the
 * sample photos and the models we may not ship, the repository for the bundled α=0.25/224 model.
 */
import * as path from 'path';

/** dist/test/helpers → repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const DATA_DIR = path.resolve(process.env.MOBILENET_DATA ?? path.join(REPO_ROOT, '..', 'shared', 'data'));
export const SAMPLE_DIR = path.join(DATA_DIR, 'images', 'sample');
export const SAMPLE_LABELS = path.join(SAMPLE_DIR, 'labels.tsv');
/** The bundled model: bit-identical to $MOBILENET_DATA/weights/tfjs-layers/mobilenet_v1_0.25_224. */
export const BUNDLED_DIR = path.join(REPO_ROOT, 'weights', 'mobilenet_v1_0.25_224');
export const BUNDLED_MODEL = path.join(BUNDLED_DIR, 'model.json');
/** A TF.js layers model folder: α=0.25 is the bundled one, others come from the data folder. */
export const tfjsDir = (alpha: '0.25' | '0.75') =>
  alpha === '0.25' ? BUNDLED_DIR : path.join(DATA_DIR, 'weights', 'tfjs-layers', `mobilenet_v1_${alpha}_224`);
export const tfjsModel = (alpha: '0.25' | '0.75') => path.join(tfjsDir(alpha), 'model.json');
export const slimGraph = (resolution: number) =>
  path.join(DATA_DIR, 'weights', 'tf-slim-frozen', `mobilenet_v1_0.25_${resolution}`, 'frozen_graph.pb');
export const SLIM_LABELS = path.join(DATA_DIR, 'weights', 'tf-slim-frozen', 'labels.txt');

export { requireData, requireTool, skipBecause } from './skip';
