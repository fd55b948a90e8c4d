/**
 * Reading weight files without trusting their names or kinds: one checker for the loaders and for
 * `fetch`. A manifest may only name a plain file beside it; every file read must be a regular file
 * (not a device, FIFO or directory) of a known size, and no more than that size is ever read.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Why `p` may not name a shard beside its manifest, or undefined when it may: one plain file name. */
export function shardNameProblem(p: unknown): string | undefined {
  if (typeof p !== 'string' || p.length === 0) return 'it is not a non-empty string';
  if (p.length > 255) return 'it is longer than 255 characters';
  if (/[\\/\0]/.test(p) || path.isAbsolute(p) || p !== path.basename(p)) return 'it holds a path separator (only a plain file name beside model.json is allowed)';
  if (p === '.' || p === '..' || p.startsWith('.')) return 'it starts with a dot';
  if (p === 'model.json') return 'it is the manifest itself';
  return undefined;
}

export class WeightFileError extends Error {}

/** Opens `file` without blocking (a FIFO would hang a blocking open) and without following a last-component symlink when `noFollow`. */
function openRegular(file: string, noFollow: boolean): { fd: number; size: number } {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (noFollow ? fs.constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    fd = fs.openSync(file, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new WeightFileError('no such file');
    if (code === 'ELOOP') throw new WeightFileError('it is a symbolic link (shards must be regular files inside the model folder)');
    throw new WeightFileError((e as Error).message);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
    throw new WeightFileError(`it is ${kind}, not a regular file`);
  }
  return { fd, size: st.size };
}

function readExactly(fd: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  while (at < size) {
    const n = fs.readSync(fd, out, at, size - at, at);
    if (n === 0) throw new WeightFileError(`it ended after ${at} of ${size} bytes`);
    at += n;
  }
  return out;
}

/**
 * The bytes of a regular file of at most `maxBytes` (its size is taken from fstat and checked before
 * a byte is read; a file that grows meanwhile is read only up to that size).
 */
export function readRegularFile(file: string, maxBytes: number, options: { noFollow?: boolean } = {}): Buffer {
  const { fd, size } = openRegular(file, options.noFollow ?? false);
  try {
    if (size > maxBytes) throw new WeightFileError(`it is ${size} bytes, more than the ${maxBytes} allowed`);
    return readExactly(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The shards of one manifest group, read from `dir`: each name must pass shardNameProblem, each file
 * must be a regular file (no symlink) inside `dir`, and their sizes must add up to `bytes` before any
 * is read. Throws WeightFileError naming the shard.
 */
export function readShards(dir: string, names: readonly unknown[], bytes: number): Buffer[] {
  const opened: Array<{ fd: number; size: number; name: string }> = [];
  try {
    for (const name of names) {
      const problem = shardNameProblem(name);
      if (problem) throw new WeightFileError(`the manifest names a shard ${JSON.stringify(String(name)).slice(0, 80)}: ${problem}`);
      try {
        opened.push({ ...openRegular(path.join(dir, name as string), true), name: name as string });
      } catch (e) {
        throw new WeightFileError(`shard ${name as string}: ${(e as Error).message}`);
      }
    }
    const total = opened.reduce((a, o) => a + o.size, 0);
    if (total !== bytes)
      throw new WeightFileError(`shards ${opened.map((o) => `${o.name} (${o.size} B)`).join(', ')} hold ${total} bytes, but the manifest's tensors need ${bytes}`);
    return opened.map((o) => readExactly(o.fd, o.size));
  } finally {
    for (const o of opened) fs.closeSync(o.fd);
  }
}

/** The marker `mobilenet fetch` writes into a complete download: JSON with each file's bytes and sha256. */
export const COMPLETE_MARKER = '.complete';

/**
 * The sha256 of each file recorded by `mobilenet fetch` in `dir`'s marker, or undefined when `dir`
 * is not a fetched model (no marker). A marker that exists but cannot be read is an error: it would
 * otherwise turn verification off.
 */
export function recordedHashes(dir: string): Map<string, string> | undefined {
  const file = path.join(dir, COMPLETE_MARKER);
  if (!fs.existsSync(file)) return undefined;
  let files: unknown;
  try {
    files = (JSON.parse(readRegularFile(file, 1 << 20).toString('utf8')) as { files?: unknown }).files;
  } catch (e) {
    throw new WeightFileError(`its download marker ${file} is unreadable (${(e as Error).message}); fetch the model again`);
  }
  if (!files || typeof files !== 'object') throw new WeightFileError(`its download marker ${file} lists no files; fetch the model again`);
  const out = new Map<string, string>();
  for (const [name, v] of Object.entries(files as Record<string, { sha256?: unknown }>)) if (typeof v?.sha256 === 'string') out.set(name, v.sha256);
  return out;
}
