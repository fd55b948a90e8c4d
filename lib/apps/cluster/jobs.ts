/**
 * What travels through the queue: a chunk job (image names, optionally their bytes, and the
 * producer's model fingerprint) and its result (one record per image). Both sides check what
 * they read, since Redis is shared and a job may come from another release.
 */
import { createHash } from 'crypto';
import type { JobsOptions } from 'bullmq';
import type { BatchRecord } from '../batch';
import { KEY_PREFIX } from './connection';
import type { ModelFingerprint } from './fingerprint';

export const CHUNK_FORMAT = 1;

export interface ChunkData {
  v: typeof CHUNK_FORMAT;
  /** fingerprintId(fingerprint): what a worker compares with its own. */
  fp: string;
  fingerprint: ModelFingerprint;
  embed: boolean;
  topk: number;
  /** The producer's working directory: relative names are read from there (a shared filesystem). */
  cwd: string;
  /** The names the records carry, as the producer's walk gave them. */
  files: string[];
  /** --ship-bytes: each file's bytes, base64, instead of reading `files` from a shared filesystem. */
  bytes?: string[];
}

/** A record as JSON can carry it (an embedding as a plain array). */
export type WireRecord =
  | { file: string; top: Array<{ className: string; classIndex: number; probability: number }> }
  | { file: string; embedding: number[] }
  | { file: string; error: { code: string; message: string } };

export interface ChunkResult {
  fp: string;
  /** Who computed it: `host:pid`. */
  worker: string;
  records: WireRecord[];
}

/** Attempts of a chunk whose processing throws (a crash of the worker counts as a stall instead). */
export const CHUNK_ATTEMPTS = 3;

/** Content-derived id: the same chunk (files, model, output mode) enqueued twice is one job. */
export function chunkJobId(d: Pick<ChunkData, 'fp' | 'embed' | 'topk' | 'cwd' | 'files' | 'bytes'>): string {
  const h = createHash('sha256').update(JSON.stringify([CHUNK_FORMAT, d.fp, d.embed, d.topk, d.cwd, d.bytes !== undefined, d.files]));
  return 'chunk-' + h.digest('hex').slice(0, 40);
}

export function chunkJobOptions(jobId: string): JobsOptions {
  // Finished jobs stay until the producer has written their records (it then removes them).
  return { jobId, attempts: CHUNK_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false };
}

/** The producer's lock: at most one producer (one writer of --out) per queue. */
export const producerLockKey = (queue: string): string => `${KEY_PREFIX}:${queue}:mobilenet:producer`;
/** Workers that refused chunks (hash: worker → why), read by the producer to say why nothing moves. */
export const refusalsKey = (queue: string): string => `${KEY_PREFIX}:${queue}:mobilenet:refusals`;

const isString = (x: unknown): x is string => typeof x === 'string';

/** The reason a job's data is not a chunk this release understands, or undefined. */
export function chunkProblem(d: unknown): string | undefined {
  const c = d as Partial<ChunkData> | null;
  if (!c || typeof c !== 'object') return 'the job data is not an object';
  if (c.v !== CHUNK_FORMAT) return `chunk format ${JSON.stringify(c.v)}, this release reads format ${CHUNK_FORMAT}`;
  if (!isString(c.fp) || !c.fingerprint || typeof c.fingerprint !== 'object') return 'no model fingerprint';
  if (typeof c.embed !== 'boolean' || !Number.isInteger(c.topk) || !isString(c.cwd)) return 'embed, topk or cwd missing';
  if (!Array.isArray(c.files) || !c.files.every(isString)) return 'files is not a list of names';
  if (c.bytes !== undefined && (!Array.isArray(c.bytes) || c.bytes.length !== c.files.length || !c.bytes.every(isString))) return 'bytes does not hold one base64 string per file';
  return undefined;
}

export function toWire(rec: BatchRecord, round: (x: number) => number): WireRecord {
  if ('error' in rec) return { file: rec.file, error: { code: rec.error.code, message: rec.error.message } };
  if ('top' in rec) return { file: rec.file, top: rec.top.map((s) => ({ className: s.className, classIndex: s.classIndex, probability: round(s.probability) })) };
  return { file: rec.file, embedding: Array.from(rec.embedding, round) };
}

/** A result record as the output takes it, or undefined when it is malformed or for another mode. */
export function fromWire(r: unknown, embed: boolean, width: number): BatchRecord | undefined {
  const w = r as Record<string, unknown> | null;
  if (!w || typeof w !== 'object' || !isString(w.file)) return undefined;
  const err = w.error as { code?: unknown; message?: unknown } | undefined;
  if (err && typeof err === 'object') return isString(err.code) && isString(err.message) ? { file: w.file, error: { code: err.code, message: err.message } } : undefined;
  if (embed) {
    const e = w.embedding;
    return Array.isArray(e) && e.length === width && e.every((x) => typeof x === 'number') ? { file: w.file, embedding: e as number[] } : undefined;
  }
  const top = w.top;
  if (!Array.isArray(top) || top.length === 0) return undefined;
  const ok = top.every((s) => s && isString(s.className) && Number.isInteger(s.classIndex) && typeof s.probability === 'number');
  return ok ? { file: w.file, top: top as Array<{ className: string; classIndex: number; probability: number }> } : undefined;
}
