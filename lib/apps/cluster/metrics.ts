/** A worker's /healthz and Prometheus /metrics, on an optional port. */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly images = new Counter({ name: 'mobilenet_worker_images_total', help: 'Images classified, by result (ok or error record)', labelNames: ['result'] as const, registers: [this.registry] });
  readonly chunks = new Counter({ name: 'mobilenet_worker_chunks_total', help: 'Chunks handled, by outcome (completed, refused: another model, invalid, failed)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly chunkSeconds = new Histogram({ name: 'mobilenet_worker_chunk_seconds', help: 'Time to classify one chunk', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  readonly activeChunks = new Gauge({ name: 'mobilenet_worker_active_chunks', help: 'Chunks being classified now', registers: [this.registry] });
  readonly redisUp = new Gauge({ name: 'mobilenet_worker_redis_up', help: '1 while the Redis connection is ready', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

export interface Health {
  ok: boolean;
  detail: Record<string, unknown>;
}

/** Serves GET /healthz (200 when healthy, else 503, JSON either way) and GET /metrics. */
export async function serveMetrics(metrics: WorkerMetrics, health: () => Health, port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail }));
    } else if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(e.message),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
