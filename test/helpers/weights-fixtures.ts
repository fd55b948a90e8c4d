/** Test data locations and helpers that make corrupt copies of weight files in a temp dir. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { tfjsDir } from './data';

export { DATA_DIR, slimGraph } from './data';
export const TFJS_025 = tfjsDir('0.25');
export const TFJS_075 = tfjsDir('0.75');

export function tempDir(prefix = 'mobilenet-weights-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A writable copy of a model directory (files only). */
export function copyModelDir(src: string): string {
  const dst = tempDir();
  for (const f of fs.readdirSync(src)) {
    fs.copyFileSync(path.join(src, f), path.join(dst, f));
    fs.chmodSync(path.join(dst, f), 0o644);
  }
  return dst;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value));
}

/** safetensors: 8-byte LE header length, JSON header, raw little-endian data. */
export function writeSafetensors(
  file: string,
  tensors: Array<{ name: string; shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  writeRawSafetensors(file, header, Buffer.concat(tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))));
}

export function writeRawSafetensors(file: string, header: unknown, data: Buffer): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
}
