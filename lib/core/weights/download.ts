/**
 * Downloads an official release into the cache (cache.ts). A model directory only ever appears
 * complete: files are downloaded into a temporary directory inside the cache (same filesystem),
 * checked (HTTP length, the manifest's byte sizes, then a full parse of the weights, which rejects
 * NaN/Inf garbage), fsynced, marked, and only then renamed into place.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { describe, fail, MobileNetError } from '../errors';
import { checkOfficial, defaultBaseUrl, findCachedModel, MARKER, modelHome, officialModelName, officialModelUrl, readMarker, verifyCachedModel, type CompleteMarker } from './cache';
import { shardNameProblem } from './files';
import { loadTfjsLayers } from './tfjs';

/** The official model.json files are ~100 KB; a server sending more is not serving one. */
const MAX_MODEL_JSON_BYTES = 4 << 20;

/** Bytes per stored element, for the manifest's expected sizes. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };

export interface FetchOptions {
  /** Cache root (default: modelHome()). */
  home?: string;
  /** Server root; the model is read from `<baseUrl>/tfjs-models/tfjs/<name>/model.json`. Default: DEFAULT_BASE_URL or $MOBILENET_BASE_URL. */
  baseUrl?: string;
  /** Download again even if a complete copy is cached. */
  force?: boolean;
  /** Attempts per file on connection errors, 5xx and 429 (default 5). */
  retries?: number;
  /** First retry delay in ms, doubled each time with jitter (default 500). */
  backoffMs?: number;
  /** Inactivity timeout per request in ms (default 30 000). */
  timeoutMs?: number;
  /** Called as bytes arrive: (received so far, total expected or undefined while unknown). */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Called before each retry, for logging. */
  onRetry?: (url: string, attempt: number, error: Error) => void;
}

export interface FetchResult {
  /** The cached model.json. */
  modelJson: string;
  dir: string;
  /** True when nothing was downloaded because a verified copy was already there. */
  cached: boolean;
  bytes: number;
}
class HttpError extends Error {
  constructor(message: string, readonly status: number, readonly retryable: boolean) {
    super(message);
  }
}

/** Errors of the connection (not of the content) are worth retrying. */
function isRetryable(e: unknown): boolean {
  if (e instanceof HttpError) return e.retryable;
  if (e instanceof MobileNetError) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface GetResult {
  bytes: number;
  sha256: string;
}

/**
 * GETs `url` into `dest` (streaming, hashing as it goes). Rejects when the body is shorter or
 * longer than Content-Length, which is how a dropped connection shows up, and as soon as it passes
 * `maxBytes` (what the manifest declares), whatever the headers say.
 */
function getToFile(url: string, dest: string, timeoutMs: number, maxBytes: number, onData: (n: number) => void, redirects = 0): Promise<GetResult> {
  return new Promise<GetResult>((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new MobileNetError('ERR_DOWNLOAD', `invalid download URL ${url}`));
      return;
    }
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!mod) {
      reject(new MobileNetError('ERR_DOWNLOAD', `unsupported URL scheme in ${url}: expected http: or https:`));
      return;
    }
    const req = mod.get(u, { headers: { 'user-agent': 'mobilenet-native', 'accept-encoding': 'identity' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return reject(new HttpError(`too many redirects fetching ${url}`, status, false));
        return resolve(getToFile(new URL(res.headers.location, u).toString(), dest, timeoutMs, maxBytes, onData, redirects + 1));
      }
      if (status !== 200) {
        res.resume();
        return reject(new HttpError(`HTTP ${status} ${res.statusMessage ?? ''} for ${url}`.trim(), status, status >= 500 || status === 429 || status === 408));
      }
      const lengthHeader = res.headers['content-length'];
      const expected = lengthHeader === undefined ? undefined : Number(lengthHeader);
      if (expected !== undefined && expected > maxBytes) {
        res.destroy();
        return reject(new MobileNetError('ERR_DOWNLOAD', `${url} announces ${expected} bytes, more than the ${maxBytes} expected`));
      }
      const hash = createHash('sha256');
      const out = fs.createWriteStream(dest);
      let received = 0;
      let failed = false;
      const failWith = (e: Error): void => {
        if (failed) return;
        failed = true;
        res.destroy();
        out.destroy();
        reject(e);
      };
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (expected !== undefined && received > expected) return failWith(new MobileNetError('ERR_DOWNLOAD', `${url} sent more than its Content-Length of ${expected} bytes`));
        if (received > maxBytes) return failWith(new MobileNetError('ERR_DOWNLOAD', `${url} sent more than the ${maxBytes} bytes expected; stopped`));
        hash.update(chunk);
        onData(chunk.length);
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      });
      let ended = false;
      res.on('error', (e) => failWith(new Error(`connection error after ${received} bytes of ${url}: ${e.message}`)));
      res.on('close', () => {
        if (!ended) failWith(new Error(`connection dropped after ${received} of ${expected ?? '?'} bytes of ${url}`));
      });
      out.on('error', (e) => failWith(new MobileNetError('ERR_DOWNLOAD', `cannot write ${dest}: ${e.message}`, e)));
      res.on('end', () => {
        ended = true;
        if (failed) return;
        if (expected !== undefined && received !== expected) return failWith(new Error(`connection closed after ${received} of ${expected} bytes of ${url}`));
        out.end(() => {
          if (!failed) resolve({ bytes: received, sha256: hash.digest('hex') });
        });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs} ms from ${url}`)));
    req.on('error', (e) => reject(e));
  });
}

/** A file name from a manifest may only name a file inside the model directory. */
function checkShardName(p: unknown, url: string): string {
  const problem = shardNameProblem(p);
  if (problem) fail('ERR_DOWNLOAD', `${url}: weightsManifest names a shard ${describe(p)}; expected a plain file name, but ${problem}`);
  return p as string;
}

/** Shard file names and the byte size each manifest group must add up to. */
function parseManifest(text: string, url: string): Array<{ paths: string[]; bytes: number }> {
  let json: { weightsManifest?: unknown; modelTopology?: unknown };
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail('ERR_DOWNLOAD', `${url} is not valid JSON (${(e as Error).message}); the download is corrupt or the URL is wrong`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest) || json.weightsManifest.length === 0)
    fail('ERR_DOWNLOAD', `${url} is not a TF.js layers model.json: expected modelTopology and a non-empty weightsManifest`);
  const seen = new Set<string>();
  return (json.weightsManifest as unknown[]).map((g, i) => {
    const group = g as { paths?: unknown; weights?: unknown };
    if (!group || !Array.isArray(group.paths) || group.paths.length === 0 || !Array.isArray(group.weights))
      fail('ERR_DOWNLOAD', `${url}: weightsManifest[${i}] needs non-empty paths and weights arrays`);
    const paths = (group.paths as unknown[]).map((p) => checkShardName(p, url));
    for (const p of paths) {
      if (seen.has(p)) fail('ERR_DOWNLOAD', `${url}: shard ${p} is listed twice`);
      seen.add(p);
    }
    let bytes = 0;
    for (const w of group.weights as Array<{ name?: unknown; shape?: unknown; dtype?: unknown; quantization?: { dtype?: unknown } }>) {
      const dtype = w?.quantization?.dtype ?? w?.dtype;
      const size = typeof dtype === 'string' ? DTYPE_BYTES[dtype] : undefined;
      if (!Array.isArray(w?.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0) || size === undefined)
        fail('ERR_DOWNLOAD', `${url}: weightsManifest[${i}] entry ${describe(w?.name)} has no valid shape and dtype`);
      bytes += (w.shape as number[]).reduce((a, b) => a * b, 1) * size;
    }
    return { paths, bytes };
  });
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Temp directories of downloads that died long ago; younger ones may belong to a running download. */
async function removeStaleTemps(home: string, name: string): Promise<void> {
  const prefix = `.tmp-${name}-`;
  for (const entry of await fsp.readdir(home).catch(() => [] as string[])) {
    if (!entry.startsWith(prefix) && !entry.startsWith(`.old-${name}-`)) continue;
    const p = path.join(home, entry);
    try {
      if (Date.now() - (await fsp.stat(p)).mtimeMs > 3600_000 || entry.startsWith('.old-')) await fsp.rm(p, { recursive: true, force: true });
    } catch {
      /* another process removed it */
    }
  }
}
/** A verified cached copy, or undefined when there is none or it is damaged. */
async function intactCopy(alpha: number, resolution: number, home: string, dir: string): Promise<FetchResult | undefined> {
  if (!findCachedModel(alpha, resolution, home) || (await verifyCachedModel(dir)).length > 0) return undefined;
  const marker = readMarker(dir) as CompleteMarker;
  return { modelJson: path.join(dir, 'model.json'), dir, cached: true, bytes: Object.values(marker.files).reduce((a, f) => a + f.bytes, 0) };
}

/** Downloads model.json and every shard it lists into `tmp`, with retries; returns what each file holds. */
async function downloadFiles(url: string, tmp: string, options: FetchOptions): Promise<{ files: CompleteMarker['files']; received: number }> {
  const retries = options.retries ?? 5;
  const backoffMs = options.backoffMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let received = 0;
  let total: number | undefined;
  const files: CompleteMarker['files'] = {};

  const download = async (fileUrl: string, file: string, maxBytes: number): Promise<GetResult> => {
    for (let attempt = 1; ; attempt++) {
      let got = 0;
      try {
        return await getToFile(fileUrl, path.join(tmp, file), timeoutMs, maxBytes, (n) => {
          got += n;
          received += n;
          options.onProgress?.(received, total);
        });
      } catch (e) {
        received -= got;
        options.onProgress?.(received, total);
        const err = e as Error;
        if (!isRetryable(e) || attempt >= retries) {
          if (err instanceof MobileNetError) throw err;
          const tries = attempt > 1 ? ` (after ${attempt} attempts)` : '';
          throw new MobileNetError('ERR_DOWNLOAD', `download of ${fileUrl} failed${tries}: ${err.message}`, { cause: e });
        }
        options.onRetry?.(fileUrl, attempt, err);
        await sleep(backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
      }
    }
  };

  files['model.json'] = await download(url, 'model.json', MAX_MODEL_JSON_BYTES);
  const groups = parseManifest(await fsp.readFile(path.join(tmp, 'model.json'), 'utf8'), url);
  total = received + groups.reduce((a, g) => a + g.bytes, 0);
  options.onProgress?.(received, total);
  const base = url.slice(0, url.lastIndexOf('/') + 1);
  for (const group of groups) {
    let groupBytes = 0;
    for (const shard of group.paths) {
      files[shard] = await download(base + encodeURIComponent(shard), shard, group.bytes - groupBytes);
      groupBytes += files[shard].bytes;
    }
    if (groupBytes !== group.bytes)
      fail('ERR_DOWNLOAD', `shards ${group.paths.join(', ')} of ${url} hold ${groupBytes} bytes, but the manifest's shapes need ${group.bytes}; the download is corrupt`);
  }
  return { files, received };
}

/**
 * The full parse catches what sizes cannot: garbage bytes (NaN/Inf), a topology that is not
 * MobileNet v1, or a file for another α or resolution.
 */
async function checkDownloaded(tmp: string, url: string, alpha: number, resolution: number): Promise<void> {
  let arch;
  try {
    arch = (await loadTfjsLayers(path.join(tmp, 'model.json'))).arch;
  } catch (e) {
    fail('ERR_DOWNLOAD', `the model downloaded from ${url} is corrupt: ${(e as Error).message}`, e);
  }
  if (Math.abs(arch.alpha - alpha) > 1e-6 || arch.resolution !== resolution)
    fail('ERR_DOWNLOAD', `${url} holds a model with alpha ${arch.alpha} and resolution ${arch.resolution}, expected alpha ${alpha} and resolution ${resolution}`);
}

/** Marks the checked download complete and renames it into place, all fsynced, so a crash leaves the old state or the new. */
async function publish(tmp: string, home: string, marker: CompleteMarker): Promise<void> {
  const dir = path.join(home, marker.name);
  for (const file of Object.keys(marker.files)) await fsyncPath(path.join(tmp, file));
  const markerTmp = path.join(tmp, `${MARKER}.tmp`);
  await fsp.writeFile(markerTmp, JSON.stringify(marker, null, 2) + '\n');
  await fsyncPath(markerTmp);
  await fsp.rename(markerTmp, path.join(tmp, MARKER));
  await fsyncPath(tmp);

  // Move any previous copy (incomplete, corrupt, or replaced by --force) aside first: rename(2)
  // cannot replace a non-empty directory, and the old one must not mix with the new files.
  let old: string | undefined;
  if (fs.existsSync(dir)) {
    old = path.join(home, `.old-${marker.name}-${process.pid}-${Date.now()}`);
    await fsp.rename(dir, old);
  }
  try {
    await fsp.rename(tmp, dir);
  } catch (e) {
    // Another process finished the same download first: keep its copy if it is intact.
    if (!findCachedModel(marker.alpha, marker.resolution, home)) throw e;
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  await fsyncPath(home).catch(() => undefined);
  if (old) await fsp.rm(old, { recursive: true, force: true });
}

/**
 * Downloads the official TF.js MobileNet v1 (alpha, resolution) into the cache and returns where it is.
 * Already cached and intact → nothing downloaded (unless `force`). Failures reject with ERR_DOWNLOAD
 * and leave no model directory behind.
 */
export async function fetchModel(alpha: number, resolution: number, options: FetchOptions = {}): Promise<FetchResult> {
  checkOfficial(alpha, resolution);
  const home = path.resolve(options.home ?? modelHome());
  const name = officialModelName(alpha, resolution);
  const dir = path.join(home, name);
  const url = officialModelUrl(alpha, resolution, options.baseUrl ?? defaultBaseUrl());
  const cached = options.force ? undefined : await intactCopy(alpha, resolution, home, dir);
  if (cached) return cached;

  try {
    await fsp.mkdir(home, { recursive: true });
  } catch (e) {
    fail('ERR_DOWNLOAD', `cannot create the model cache ${home}: ${(e as Error).message} (set MOBILENET_HOME to a writable directory)`, e);
  }
  await removeStaleTemps(home, name);
  const tmp = await fsp.mkdtemp(path.join(home, `.tmp-${name}-`));
  try {
    const { files, received } = await downloadFiles(url, tmp, options);
    await checkDownloaded(tmp, url, alpha, resolution);
    await publish(tmp, home, { name, alpha, resolution, url, downloadedAt: new Date().toISOString(), files });
    return { modelJson: path.join(dir, 'model.json'), dir, cached: false, bytes: received };
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof MobileNetError) throw e;
    throw new MobileNetError('ERR_DOWNLOAD', `download of ${name} into ${home} failed: ${(e as Error).message}`, { cause: e });
  }
}
