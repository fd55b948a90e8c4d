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
import type { FastifyInstance } from 'fastify';
import type * as Multipart from '@fastify/multipart';
import { DecodeGuard, requireOptional, validate as v, type MobileNet } from '../../core';
import { Admission } from './admission';
import { clientErrorHandler, configureHttp, registerRoutes } from './http';
import { createMetrics } from './metrics';
import { loadModels, serverSettings, type ServerOptions } from './options';
import type { ServerState } from './requests';

export { STATUS_OF_CODE, HttpError, toErrorReply, type HttpErrorCode } from './errors';
export type { ModelSource, ServerOptions } from './options';

export interface MobileNetServer {
  readonly app: FastifyInstance;
  readonly models: ReadonlyMap<string, MobileNet>;
  /** Starts listening; resolves to the base URL (e.g. http://127.0.0.1:8080). */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** Graceful stop: refuses new requests, lets in-flight ones finish, then disposes the models it loaded. */
  close(): Promise<void>;
  readonly closing: boolean;
}

export async function createServer(options: ServerOptions = {}): Promise<MobileNetServer> {
  v.plainObject(options, 'server options');
  // Optional dependencies, checked before any model is loaded.
  const fastify = requireOptional<typeof import('fastify')>('fastify', 'the server (mobilenet serve)').default;
  const multipart = requireOptional<typeof Multipart>('@fastify/multipart', 'the server (mobilenet serve)').default;
  requireOptional('prom-client', 'the server (mobilenet serve)');
  const settings = serverSettings(options);
  const guard = new DecodeGuard({ allowSvg: options.allowSvg === true, timeoutMs: settings.decodeTimeoutMs, maxConcurrent: settings.maxConcurrentDecodes, maxWaiting: settings.maxQueue });
  const { models, owned } = await loadModels(options.models ?? { default: {} }, settings.base);
  const inFlight = new Map<string, number>([...models.keys()].map((n) => [n, 0]));
  const s: ServerState = {
    settings,
    models,
    defaultName: models.keys().next().value as string,
    inFlight,
    admissions: new Map([...models.keys()].map((n) => [n, new Admission(settings.maxQueue, settings.maxQueueMs, settings.decoders)])),
    metrics: createMetrics(models, inFlight),
    guard,
    closing: undefined,
  };

  const app = fastify({
    logger: options.logger ?? false,
    bodyLimit: settings.maxBody,
    // Our onRequest hook answers during shutdown with a JSON body instead of fastify's plain 503.
    return503OnClosing: false,
    // Bounds how long a slow client may take to send a request (slowloris); inference has its own timeout.
    requestTimeout: Math.max(60_000, settings.timeoutMs * 2),
    clientErrorHandler,
  });
  await configureHttp(app, s, multipart);
  registerRoutes(app, s);

  return {
    app,
    models,
    get closing() {
      return s.closing !== undefined;
    },
    async listen({ port = 8080, host = '127.0.0.1' } = {}) {
      return app.listen({ port, host });
    },
    close() {
      s.closing ??= (async () => {
        try {
          await app.close(); // waits for in-flight requests
        } finally {
          for (const m of owned) m.dispose(); // dispose() itself lets pending native calls finish
        }
      })();
      return s.closing;
    },
  };
}
