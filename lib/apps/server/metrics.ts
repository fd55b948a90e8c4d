/**
 * Prometheus metrics. Each server has its own registry, so that several servers in one process
 * (tests, or an app that embeds two) do not collide on metric names.
 */
import type { Counter, Histogram, Registry } from 'prom-client';
import { type MobileNet, requireOptional } from '../../core';

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route'>;
}

/**
 * `models` and `inFlight` are read at scrape time: the executor's counters are cumulative in
 * native code, so they are exported as Prometheus counters by adding the difference since the
 * previous scrape.
 */
export function createMetrics(models: ReadonlyMap<string, MobileNet>, inFlight: ReadonlyMap<string, number>): ServerMetrics {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = requireOptional<typeof import('prom-client')>('prom-client', 'the server\'s /metrics (mobilenet serve)');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'mobilenet_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'mobilenet_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  type StatKey = 'batches' | 'images' | 'jobs';
  const seen = new Map<string, Record<StatKey, number>>();
  const stats = (): Array<[string, ReturnType<MobileNet['stats']>]> => {
    const out: Array<[string, ReturnType<MobileNet['stats']>]> = [];
    for (const [name, m] of models) if (!m.disposed) out.push([name, m.stats()]);
    return out;
  };
  const cumulative = (key: StatKey, name: string, help: string): void => {
    new Counter({
      name,
      help,
      labelNames: ['model'] as const,
      registers: [registry],
      collect() {
        for (const [model, s] of stats()) {
          const last = seen.get(model) ?? { batches: 0, images: 0, jobs: 0 };
          const now = s[key] ?? 0;
          if (now > last[key]) this.inc({ model }, now - last[key]);
          last[key] = now;
          seen.set(model, last);
        }
      },
    });
  };
  cumulative('batches', 'mobilenet_executor_batches_total', 'Forward passes run by the model executor (mean batch size = images / batches)');
  cumulative('images', 'mobilenet_executor_images_total', 'Images run through forward passes by the model executor');
  cumulative('jobs', 'mobilenet_executor_jobs_total', 'Inference calls submitted to the model executor (calls merged into one pass count once each)');
  new Gauge({
    name: 'mobilenet_executor_queue_depth',
    help: 'Calls waiting in the model executor queue',
    labelNames: ['model'] as const,
    registers: [registry],
    collect() {
      for (const [model, s] of stats()) this.set({ model }, s.queueDepth ?? 0);
    },
  });
  new Gauge({
    name: 'mobilenet_inflight_requests',
    help: 'Requests being decoded or inferred, per model (refused with 503 above --max-queue)',
    labelNames: ['model'] as const,
    registers: [registry],
    collect() {
      for (const model of models.keys()) this.set({ model }, inFlight.get(model) ?? 0);
    },
  });
  return { registry, requests, latency };
}
