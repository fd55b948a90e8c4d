/** The HTTP side of the server: accepted bodies, error replies, shutdown hooks and the routes. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as Multipart from '@fastify/multipart';
import { STATUS_CODES } from 'http';
import type { Socket } from 'net';
import type { ClassScore } from '../../core';
import { HttpError, toErrorReply } from './errors';
import { handle, type ServerState } from './requests';

/** What /v1/models shows of a weight source: 'bundled:…', 'random…' as they are; a path as its last two parts (folder/file). */
function publicSource(source: string): string {
  if (!source.includes('/') && !source.includes('\\')) return source;
  if (/^[a-z]+:[^/\\]/.test(source)) return source;
  return source.split(/[/\\]/).filter(Boolean).slice(-2).join('/');
}

/** Writes a JSON error for errors Node's HTTP parser raises before fastify sees a request (e.g. headers over 16 KiB). */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
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

/** Body parsers (images only), JSON error replies, and the hooks for shutdown and metrics. */
export async function configureHttp(app: FastifyInstance, s: ServerState, multipart: typeof Multipart.default): Promise<void> {
  // Only image bodies are accepted: no JSON or text parser, so other types get 415.
  app.removeAllContentTypeParsers();
  const rawImage = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void): void => done(null, body);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, rawImage);
  app.addContentTypeParser(/^image\/[A-Za-z0-9.+-]+$/, { parseAs: 'buffer' }, rawImage);
  await app.register(multipart, { limits: { fileSize: s.settings.maxBody, files: s.settings.maxFiles, fields: 32, parts: s.settings.maxFiles + 32, fieldSize: 64 * 1024 } });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorReply(err);
    // fastify's own messages do not say what the limit or the accepted types are.
    if (body.code === 'ERR_UNSUPPORTED_MEDIA_TYPE')
      body.message = `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '(none)')} is not accepted; send the image bytes as image/* or application/octet-stream, or files in multipart/form-data`;
    else if (body.code === 'ERR_BODY_TOO_LARGE' && !(err instanceof HttpError))
      body.message = `the request body is larger than ${s.settings.maxBody} bytes (--max-body-mb)`;
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
    if (s.closing) {
      void reply.header('connection', 'close');
      throw new HttpError('ERR_SHUTTING_DOWN', 'the server is shutting down');
    }
  });
  // While draining, answered keep-alive connections are closed at once; otherwise close() would wait out keepAliveTimeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (s.closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    s.metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    s.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
}

/** /v1/classify, /v1/embed, /v1/models, /healthz, /readyz, /metrics. */
export function registerRoutes(app: FastifyInstance, s: ServerState): void {
  app.post('/v1/classify', async (request) =>
    handle<ClassScore[]>(s, request, 'predictions', (model, tensor, topk) => model.classify(tensor, topk === undefined ? {} : { topk })),
  );
  app.post('/v1/embed', async (request) => handle<number[]>(s, request, 'embedding', async (model, tensor) => Array.from(await model.embed(tensor))));

  app.get('/v1/models', async () => ({
    default: s.defaultName,
    models: [...s.models].map(([name, m]) => ({
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
      inFlight: s.inFlight.get(name) ?? 0,
    })),
  }));
  app.get('/healthz', async () => ({ status: 'ok', models: [...s.models.keys()] }));
  // For a load balancer: 503 while new work would only wait (every decode slot busy with more
  // waiting, or a model's queue at --max-queue), so it can route elsewhere until this clears.
  app.get('/readyz', async (_request, reply) => {
    const decodes = s.guard.saturation();
    const full = [...s.inFlight].filter(([, n]) => n >= s.settings.maxQueue).map(([name]) => name);
    const ready = !decodes.saturated && full.length === 0;
    if (!ready) void reply.code(503).header('retry-after', '1');
    return { status: ready ? 'ready' : 'saturated', decodes, modelsAtMaxQueue: full };
  });
  app.get('/metrics', async (_request, reply: FastifyReply) => {
    void reply.type(s.metrics.registry.contentType);
    return s.metrics.registry.metrics();
  });
}
