/**
 * `mobilenet serve` as a library: a fastify app over one or more loaded models.
 *
 *   POST /v1/classify   raw image body (image/* or application/octet-stream) → { model, predictions }
 *                       multipart/form-data with one or more image files   → { model, results: [{ field, filename, predictions }] }
 *                       query: topk (default 5), preprocess ('tfjs' | 'center-crop'), model (a loaded name)
 *   POST /v1/embed      same bodies → { model, embedding } / { model, results: [{ field, filename, embedding }] }
 *   GET  /v1/models     α, resolution, classes, feature width and cost of every model
 *   GET  /healthz       200 { status: 'ok' } (503 while shutting down)
 *   GET  /readyz        200 when requests can be taken now; 503 while decodes or a model's queue are saturated, or shutting down
 *   GET  /metrics       Prometheus text format
 *
 * Concurrent requests are not batched here: each calls the model, and the model's native executor
 * merges whatever is queued into one forward pass.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as Multipart from '@fastify/multipart';
import { STATUS_CODES } from 'http';
import type { Socket } from 'net';
import { describe, MobileNetError, validate as v, type Preprocess, DecodeGuard, type ClassScore, MobileNet, type LoadOptions, requireOptional } from '../../core';
import { HttpError, toErrorReply } from './errors';
import { createMetrics } from './metrics';
import { Admission } from './admission';
import { coreBudget } from '../core-budget';

export { STATUS_OF_CODE, HttpError, toErrorReply, type HttpErrorCode } from './errors';

/** A weight path, load() options, or an already-loaded model (which the server then does not dispose). */
export type ModelSource = string | LoadOptions | MobileNet;

export interface ServerOptions {
  /** Models by name; the first is the default for requests without ?model=. Default: { default: the bundled model }. */
  models?: Record<string, ModelSource>;
  /** Largest request body (a raw image, or all files of a multipart body together), in MiB. Default 10. */
  maxBodyMb?: number;
  /** Largest decoded image, width·height. Larger ones get 413 ERR_IMAGE_TOO_LARGE. Default 40 M. */
  maxPixels?: number;
  /** How long a request may take from its body to its answer before 503 ERR_TIMEOUT. Default 30 000. */
  timeoutMs?: number;
  /** Most requests in flight per model; more get 503 ERR_QUEUE_FULL at once. Default 256. */
  maxQueue?: number;
  /**
   * Time bound of the queue: a request whose expected wait (requests in flight ÷ the measured
   * completion rate) is over this many ms gets 503 ERR_QUEUE_FULL at once. Default 5000.
   */
  maxQueueMs?: number;
  /** Images decoded at once per model, first come first served (default: the core budget's, cores + 1). */
  concurrency?: number;
  /** Most image files in one multipart request. Default 64. */
  maxFiles?: number;
  /** Default preprocessing when the request has no ?preprocess=. Default 'tfjs'. */
  preprocess?: Preprocess;
  /** OpenMP threads of each model the server loads (default: all cores). */
  threads?: number;
  /** Executor's batching wait for models the server loads, in ms (default 0: batch only what is already queued). */
  maxWaitMs?: number;
  /** Accept SVG bodies (rasterised in a child process killed at decodeTimeoutMs, one at a time). Default false: 415. */
  allowSvg?: boolean;
  /** Time limit of one image decode; the decode is stopped and the request gets 422 ERR_DECODE_TIMEOUT. Default 10 000. */
  decodeTimeoutMs?: number;
  /** Image decodes at once (default: the number of cores, at most 4); more wait, and /readyz says 503 while they do. */
  maxConcurrentDecodes?: number;
  /** fastify logger option (default off). */
  logger?: boolean | object;
}

export interface MobileNetServer {
  readonly app: FastifyInstance;
  readonly models: ReadonlyMap<string, MobileNet>;
  /** Starts listening; resolves to the base URL (e.g. http://127.0.0.1:8080). */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** Graceful stop: refuses new requests, lets in-flight ones finish, then disposes the models it loaded. */
  close(): Promise<void>;
  readonly closing: boolean;
}

interface ImagePart {
  field?: string;
  filename?: string;
  data: Buffer;
}

const QUERY_KEYS = new Set(['topk', 'preprocess', 'model']);

/** What /v1/models shows of a weight source: 'bundled:…', 'random…' as they are; a path as its last two parts (folder/file). */
function publicSource(source: string): string {
  if (!source.includes('/') && !source.includes('\\')) return source;
  if (/^[a-z]+:[^/\\]/.test(source)) return source;
  return source.split(/[/\\]/).filter(Boolean).slice(-2).join('/');
}

/** A positive option (an integer with `integer`), or `fallback` when absent. */
function positive(value: unknown, name: string, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  return integer ? v.int(value, name, 1) : v.number(value, name, 0, Number.MAX_VALUE, true);
}

/** Writes a JSON error for errors Node's HTTP parser raises before fastify sees a request (e.g. headers over 16 KiB). */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431 ? 'request headers are larger than the server accepts (16 KiB)' : status === 408 ? 'the request was not received in time' : `malformed HTTP request (${err.code ?? err.message})`;
  const body = JSON.stringify({ code: status === 408 ? 'ERR_TIMEOUT' : 'ERR_BAD_REQUEST', message });
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

async function loadModels(sources: Record<string, ModelSource>, base: LoadOptions): Promise<{ models: Map<string, MobileNet>; owned: MobileNet[] }> {
  const models = new Map<string, MobileNet>();
  const owned: MobileNet[] = [];
  try {
    for (const [name, source] of Object.entries(sources)) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new MobileNetError('ERR_INVALID_ARGUMENT', `a model name must be letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`);
      if (source instanceof MobileNet) {
        models.set(name, source);
        continue;
      }
      const opts: LoadOptions = typeof source === 'string' ? { ...base, weights: source } : { ...base, ...source };
      const m = await MobileNet.load(opts);
      owned.push(m);
      models.set(name, m);
    }
  } catch (e) {
    for (const m of owned) m.dispose();
    throw e;
  }
  if (models.size === 0) throw new MobileNetError('ERR_INVALID_ARGUMENT', 'the server needs at least one model');
  return { models, owned };
}

export async function createServer(options: ServerOptions = {}): Promise<MobileNetServer> {
  v.plainObject(options, 'server options');
  // Optional dependencies, checked before any model is loaded.
  const fastify = requireOptional<typeof import('fastify')>('fastify', 'the server (mobilenet serve)').default;
  const multipart = requireOptional<typeof Multipart>('@fastify/multipart', 'the server (mobilenet serve)').default;
  requireOptional('prom-client', 'the server (mobilenet serve)');
  const maxBody = Math.floor(positive(options.maxBodyMb, 'maxBodyMb', 10, false) * 1024 * 1024);
  const maxPixels = positive(options.maxPixels, 'maxPixels', 40_000_000, true);
  const timeoutMs = positive(options.timeoutMs, 'timeoutMs', 30_000, false);
  const maxQueue = positive(options.maxQueue, 'maxQueue', 256, true);
  const maxQueueMs = positive(options.maxQueueMs, 'maxQueueMs', 5000, false);
  const decoders = positive(options.concurrency, 'concurrency', coreBudget().decoders, true);
  const maxFiles = positive(options.maxFiles, 'maxFiles', 64, true);
  const defaultPreprocess = v.preprocess(options.preprocess ?? 'tfjs');
  const base: LoadOptions = {};
  if (options.threads !== undefined) base.threads = options.threads;
  if (options.maxWaitMs !== undefined) base.maxWaitMs = options.maxWaitMs;

  const guard = new DecodeGuard({
    allowSvg: options.allowSvg === true,
    timeoutMs: positive(options.decodeTimeoutMs, 'decodeTimeoutMs', 10_000, false),
    maxConcurrent: options.maxConcurrentDecodes === undefined ? undefined : positive(options.maxConcurrentDecodes, 'maxConcurrentDecodes', 4, true),
    maxWaiting: maxQueue,
  });
  const { models, owned } = await loadModels(options.models ?? { default: {} }, base);
  const defaultName = models.keys().next().value as string;
  const inFlight = new Map<string, number>([...models.keys()].map((n) => [n, 0]));
  const admissions = new Map([...models.keys()].map((n) => [n, new Admission(maxQueue, maxQueueMs, decoders)]));
  const metrics = createMetrics(models, inFlight);
  let closing: Promise<void> | undefined;

  const app = fastify({
    logger: options.logger ?? false,
    bodyLimit: maxBody,
    // Our onRequest hook answers during shutdown with a JSON body instead of fastify's plain 503.
    return503OnClosing: false,
    // Bounds how long a slow client may take to send a request (slowloris); inference has its own timeout.
    requestTimeout: Math.max(60_000, timeoutMs * 2),
    clientErrorHandler,
  });

  // Only image bodies are accepted: no JSON or text parser, so other types get 415.
  app.removeAllContentTypeParsers();
  const rawImage = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void): void => done(null, body);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, rawImage);
  app.addContentTypeParser(/^image\/[A-Za-z0-9.+-]+$/, { parseAs: 'buffer' }, rawImage);
  await app.register(multipart, { limits: { fileSize: maxBody, files: maxFiles, fields: 32, parts: maxFiles + 32, fieldSize: 64 * 1024 } });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorReply(err);
    // fastify's own messages do not say what the limit or the accepted types are.
    if (body.code === 'ERR_UNSUPPORTED_MEDIA_TYPE')
      body.message = `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '(none)')} is not accepted; send the image bytes as image/* or application/octet-stream, or files in multipart/form-data`;
    else if (body.code === 'ERR_BODY_TOO_LARGE' && !(err instanceof HttpError))
      body.message = `the request body is larger than ${maxBody} bytes (--max-body-mb)`;
    if (status >= 500 && status !== 503) request.log.error({ err }, 'internal error');
    if (status === 503) void reply.header('retry-after', '1');
    // A body refused before it was read to the end: close instead of reading the rest to keep the connection.
    if (status === 413) void reply.header('connection', 'close');
    void reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}; see GET /v1/models, POST /v1/classify, POST /v1/embed` });
  });

  app.addHook('onRequest', async (_request, reply) => {
    if (closing) {
      void reply.header('connection', 'close');
      throw new HttpError('ERR_SHUTTING_DOWN', 'the server is shutting down');
    }
  });
  // While draining, answered keep-alive connections are closed at once; otherwise close() would wait out keepAliveTimeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  function parseQuery(request: FastifyRequest): { name: string; model: MobileNet; topk: number | undefined; preprocess: Preprocess } {
    const q = (request.query ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(q)) {
      if (!QUERY_KEYS.has(key)) throw new MobileNetError('ERR_INVALID_ARGUMENT', `unknown query parameter '${key}'; known: ${[...QUERY_KEYS].join(', ')}`);
      if (typeof value !== 'string') throw new MobileNetError('ERR_INVALID_ARGUMENT', `query parameter '${key}' must be given once, got ${describe(value)}`);
    }
    const name = (q.model as string | undefined) ?? defaultName;
    const model = models.get(name);
    if (!model) throw new HttpError('ERR_UNKNOWN_MODEL', `no model named ${JSON.stringify(name)}; loaded: ${[...models.keys()].join(', ')}`);
    let topk: number | undefined;
    if (q.topk !== undefined) {
      const s = q.topk as string;
      topk = v.int(/^[0-9]{1,9}$/.test(s) ? Number(s) : s, 'topk', 1, model.arch.classes);
    }
    const preprocess = v.preprocess(q.preprocess ?? defaultPreprocess);
    return { name, model, topk, preprocess };
  }

  async function readImages(request: FastifyRequest): Promise<{ images: ImagePart[]; multipart: boolean }> {
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

  function withTimeout<T>(work: Promise<T>): Promise<T> {
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

  async function handle<R>(request: FastifyRequest, kind: string, run: (model: MobileNet, tensor: Float32Array, topk: number | undefined) => Promise<R>): Promise<unknown> {
    const { name, model, topk, preprocess } = parseQuery(request);
    const admission = admissions.get(name) as Admission;
    const refused = admission.admit();
    if (refused) throw new MobileNetError('ERR_QUEUE_FULL', `model ${JSON.stringify(name)}: ${refused}`);
    inFlight.set(name, (inFlight.get(name) ?? 0) + 1);
    const work = (async () => {
      const { images, multipart } = await readImages(request);
      const results = await Promise.all(
        images.map(async (img, i) => {
          let tensor: Float32Array;
          try {
            tensor = await admission.decode(() => guard.decode(img.data, (bytes, timeoutSeconds) => model.prepare(bytes, { preprocess, maxPixels, timeoutSeconds }), maxPixels));
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
        inFlight.set(name, (inFlight.get(name) ?? 1) - 1);
        admission.done(true);
      },
      () => {
        inFlight.set(name, (inFlight.get(name) ?? 1) - 1);
        admission.done(false);
      },
    );
    const { images, multipart, results } = await withTimeout(work);
    if (!multipart) return { model: name, [kind]: results[0] };
    return { model: name, results: images.map((img, i) => ({ field: img.field, filename: img.filename, [kind]: results[i] })) };
  }

  app.post('/v1/classify', async (request) =>
    handle<ClassScore[]>(request, 'predictions', (model, tensor, topk) => model.classify(tensor, topk === undefined ? {} : { topk })),
  );
  app.post('/v1/embed', async (request) => handle<number[]>(request, 'embedding', async (model, tensor) => Array.from(await model.embed(tensor))));

  app.get('/v1/models', async () => ({
    default: defaultName,
    models: [...models].map(([name, m]) => ({
      name,
      // The weights' file name only: an absolute path tells a client about the host's layout.
      source: publicSource(m.source),
      format: m.format,
      alpha: m.arch.alpha,
      resolution: m.arch.resolution,
      classes: m.arch.classes,
      featureWidth: m.featureWidth,
      padding: m.arch.padding,
      channelRule: m.arch.channelRule,
      variant: m.arch.variant,
      cost: m.cost(),
      inFlight: inFlight.get(name) ?? 0,
    })),
  }));
  app.get('/healthz', async () => ({ status: 'ok', models: [...models.keys()] }));
  // For a load balancer: 503 while new work would only wait (every decode slot busy with more
  // waiting, or a model's queue at --max-queue), so it can route elsewhere until this clears.
  app.get('/readyz', async (_request, reply) => {
    const decodes = guard.saturation();
    const full = [...inFlight].filter(([, n]) => n >= maxQueue).map(([name]) => name);
    const ready = !decodes.saturated && full.length === 0;
    if (!ready) void reply.code(503).header('retry-after', '1');
    return { status: ready ? 'ready' : 'saturated', decodes, modelsAtMaxQueue: full };
  });
  app.get('/metrics', async (_request, reply: FastifyReply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    app,
    models,
    get closing() {
      return closing !== undefined;
    },
    async listen({ port = 8080, host = '127.0.0.1' } = {}) {
      return app.listen({ port, host });
    },
    close() {
      closing ??= (async () => {
        try {
          await app.close(); // waits for in-flight requests
        } finally {
          for (const m of owned) m.dispose(); // dispose() itself lets pending native calls finish
        }
      })();
      return closing;
    },
  };
}
