/** What a batch job reads: the image files of a directory tree, a glob pattern, a list file or one image, streamed. */
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { Minimatch } from 'minimatch';
import { fail } from '../core';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif'];

const GLOB_MAGIC = /[*?[\]{}]/;

/** Depth-first walk without following directory symlinks (no cycles); file symlinks are yielded. */
async function* walk(root: string, accept: (name: string) => boolean): AsyncGenerator<string> {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let handle: fs.Dir;
    try {
      handle = await fsp.opendir(dir);
    } catch {
      continue; // unreadable subdirectory: nothing to record for it
    }
    for await (const entry of handle) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if ((entry.isFile() || entry.isSymbolicLink()) && accept(entry.name)) yield p;
    }
  }
}

async function* readList(listFile: string): AsyncGenerator<string> {
  const base = path.dirname(listFile);
  const rl = readline.createInterface({ input: fs.createReadStream(listFile), crlfDelay: Infinity });
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    yield path.isAbsolute(line) ? line : path.join(base, line);
  }
}

/**
 * The image paths of a batch input, streamed. A directory is walked (files with an image extension),
 * an existing file with an image extension is the one image, any other existing file is a list of
 * paths (relative ones are relative to the list file), and a path that does not exist but has glob
 * characters is a glob pattern.
 */
export async function* listInputs(input: string, extensions: readonly string[] = IMAGE_EXTENSIONS): AsyncGenerator<string> {
  if (typeof input !== 'string' || input.length === 0) fail('ERR_INVALID_ARGUMENT', `the batch input must be a directory, glob or list file, got ${describe(input)}`);
  const exts = new Set(extensions.map((e) => (e.startsWith('.') ? e : '.' + e).toLowerCase()));
  const accept = (name: string): boolean => exts.has(path.extname(name).toLowerCase());
  let stat: fs.Stats | undefined;
  try {
    stat = await fsp.stat(input);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) {
    yield* walk(input, accept);
    return;
  }
  if (stat?.isFile()) {
    if (accept(input)) yield input;
    else yield* readList(input);
    return;
  }
  if (!GLOB_MAGIC.test(input)) fail('ERR_INVALID_ARGUMENT', `batch input ${JSON.stringify(input)} does not exist (expected a directory, a list file or a glob pattern)`);
  const pattern = path.normalize(input).split(path.sep).join('/');
  const parts = pattern.split('/');
  const firstMagic = parts.findIndex((p) => GLOB_MAGIC.test(p));
  const base = parts.slice(0, firstMagic).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const mm = new Minimatch(pattern, { dot: false });
  for await (const p of walk(base, () => true)) {
    const rel = (base === '.' ? path.relative('.', p) : p).split(path.sep).join('/');
    if (mm.match(rel)) yield p;
  }
}
