/** One request: its query, its image bodies (raw or multipart), admission, decoding and the model call, under a time limit. */
import type { FastifyRequest } from 'fastify';
import { describe, MobileNetError, validate as v, type DecodeGuard, type MobileNet, type Preprocess } from '../../core';
import type { Admission } from './admission';
import { HttpError } from './errors';
import type { createMetrics } from './metrics';
import type { ServerSettings } from './options';

/** What the request handlers share: the settings, the models and their queues. */
export interface ServerState {
  settings: ServerSettings;
  models: Map<string, MobileNet>;
  defaultName: string;
  inFlight: Map<string, number>;
  admissions: Map<string, Admission>;
  metrics: ReturnType<typeof createMetrics>;
  guard: DecodeGuard;
  /** Set once close() starts: new requests are refused. */
  closing: Promise<void> | undefined;
}

export interface ImagePart {
  field?: string;
  filename?: string;
  data: Buffer;
}

const QUERY_KEYS = new Set(['topk', 'preprocess', 'model']);

/** The query's model, topk and preprocess, checked (an unknown or repeated key is refused). */
export function parseQuery(s: ServerState, request: FastifyRequest): { name: string; model: MobileNet; topk: number | undefined; preprocess: Preprocess } {
  const q = (request.query ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(q)) {
    if (!QUERY_KEYS.has(key)) throw new MobileNetError('ERR_INVALID_ARGUMENT', `unknown query parameter '${key}'; known: ${[...QUERY_KEYS].join(', ')}`);
    if (typeof value !== 'string') throw new MobileNetError('ERR_INVALID_ARGUMENT', `query parameter '${key}' must be given once, got ${describe(value)}`);
  }
  const name = (q.model as string | undefined) ?? s.defaultName;
  const model = s.models.get(name);
  if (!model) throw new HttpError('ERR_UNKNOWN_MODEL', `no model named ${JSON.stringify(name)}; loaded: ${[...s.models.keys()].join(', ')}`);
  let topk: number | undefined;
  if (q.topk !== undefined) {
    const s = q.topk as string;
    topk = v.int(/^[0-9]{1,9}$/.test(s) ? Number(s) : s, 'topk', 1, model.arch.classes);
  }
  const preprocess = v.preprocess(q.preprocess ?? s.settings.defaultPreprocess);
  return { name, model, topk, preprocess };
}


/** The request's images: the raw body, or every file part of a multipart body, counted against maxBody as they stream. */
export async function readImages(request: FastifyRequest, maxBody: number, maxFiles: number): Promise<{ images: ImagePart[]; multipart: boolean }> {
  if (request.isMultipart()) {
    const images: ImagePart[] = [];
    let total = 0;
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        // Counted as it streams: toBuffer() would report a part over the limit only once the
        // part's end arrived, i.e. after the client had sent all of it.
        const chunks: Buffer[] = [];
        for await (const chunk of part.file) {
          total += (chunk as Buffer).length;
          if (total > maxBody || part.file.truncated) {
            part.file.destroy();
            throw new HttpError('ERR_BODY_TOO_LARGE', `the files of this request add up to more than ${maxBody} bytes (--max-body-mb)`);
          }
          chunks.push(chunk as Buffer);
        }
        if (part.file.truncated) throw new HttpError('ERR_BODY_TOO_LARGE', `a file of this request is larger than ${maxBody} bytes (--max-body-mb)`);
        images.push({ field: part.fieldname, filename: part.filename, data: Buffer.concat(chunks) });
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const err = e as { statusCode?: number; code?: string; message?: string };
      if (err.statusCode === 413 || err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_FILES_LIMIT')
        throw new HttpError('ERR_BODY_TOO_LARGE', `multipart body over the limits (at most ${maxFiles} files of ${maxBody} bytes in all): ${err.message}`);
      throw new HttpError('ERR_BAD_REQUEST', `malformed multipart/form-data body: ${err.message ?? String(e)}`);
    }
    if (images.length === 0) throw new HttpError('ERR_BAD_REQUEST', 'the multipart/form-data body has no file parts; send each image as a file field');
    return { images, multipart: true };
  }
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new HttpError('ERR_BAD_REQUEST', `expected an image in the request body (Content-Type image/* or application/octet-stream, or multipart/form-data), got ${Buffer.isBuffer(body) ? 'an empty body' : 'no body'}`);
  }
  return { images: [{ data: body }], multipart: false };
}


/** `work`, or 503 ERR_TIMEOUT after timeoutMs (the work itself goes on; its slot is freed when it ends). */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new HttpError('ERR_TIMEOUT', `the request did not finish within ${timeoutMs} ms (--timeout-ms)`)), timeoutMs);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}


/** Admits, decodes and runs one request's images with `run`, and shapes the answer (one image, or one result per file). */
export async function handle<R>(s: ServerState, request: FastifyRequest, kind: string, run: (model: MobileNet, tensor: Float32Array, topk: number | undefined) => Promise<R>): Promise<unknown> {
  const { name, model, topk, preprocess } = parseQuery(s, request);
  const admission = s.admissions.get(name) as Admission;
  const refused = admission.admit();
  if (refused) throw new MobileNetError('ERR_QUEUE_FULL', `model ${JSON.stringify(name)}: ${refused}`);
  s.inFlight.set(name, (s.inFlight.get(name) ?? 0) + 1);
  const work = (async () => {
    const { images, multipart } = await readImages(request, s.settings.maxBody, s.settings.maxFiles);
    const results = await Promise.all(
      images.map(async (img, i) => {
        let tensor: Float32Array;
        try {
          tensor = await admission.decode(() => s.guard.decode(img.data, (bytes, timeoutSeconds) => model.prepare(bytes, { preprocess, maxPixels: s.settings.maxPixels, timeoutSeconds }), s.settings.maxPixels));
        } catch (e) {
          if (multipart && e instanceof MobileNetError) {
            throw new MobileNetError(e.code, `file ${i} (${img.field ?? '?'}${img.filename ? `: ${img.filename}` : ''}): ${e.message}`, { cause: e });
          }
          throw e;
        }
        return run(model, tensor, topk);
      }),
    );
    return { images, multipart, results };
  })();
  // The slot is held until the model is really done, even when the client was answered 503 on timeout.
  work.then(
    () => {
      s.inFlight.set(name, (s.inFlight.get(name) ?? 1) - 1);
      admission.done(true);
    },
    () => {
      s.inFlight.set(name, (s.inFlight.get(name) ?? 1) - 1);
      admission.done(false);
    },
  );
  const { images, multipart, results } = await withTimeout(work, s.settings.timeoutMs);
  if (!multipart) return { model: name, [kind]: results[0] };
  return { model: name, results: images.map((img, i) => ({ field: img.field, filename: img.filename, [kind]: results[i] })) };
}
