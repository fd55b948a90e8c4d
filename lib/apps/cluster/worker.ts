/**
 * `mobilenet worker --queue redis://…`: pulls chunk jobs, runs each through the local batch's
 * pipeline (runPipeline: decode, batch, infer through the public MobileNet API) and returns one
 * record per image. A chunk for another model is refused visibly (a log line, a metric, a note
 * the producer reads) and put back for another worker, without using up its attempts. close()
 * finishes the chunks in flight (SIGTERM); a killed worker's chunks go to other workers through
 * BullMQ's stalled-job check.
 */
import * as os from 'os';
import * as path from 'path';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type IORedis from 'ioredis';
import { f32, type PipelineImage } from '../batch';
import { ChunkPipeline } from './chunk-pipeline';
import { describe, fail, type MobileNet } from '../../core';
import { checkQueueName, connectRedis, DEFAULT_QUEUE_NAME, KEY_PREFIX, parseQueueUrl, throttledLog } from './connection';
import { describeFingerprint, fingerprintId, loadFingerprintedModel, type ClusterModelOptions, type ModelFingerprint } from './fingerprint';
import { chunkProblem, refusalsKey, toWire, type ChunkData, type ChunkResult, type WireRecord } from './jobs';
import { serveMetrics, WorkerMetrics } from './metrics';

export interface ClusterWorkerOptions extends ClusterModelOptions {
  /** redis://host:port[/db] */
  queue: string;
  queueName?: string;
  /** Chunks classified at once (default 2, so that one decodes while the other finishes). */
  concurrency?: number;
  /** Most images per forward pass (default 16, as the local batch). */
  batchSize?: number;
  /** Images decoded at once, across the chunks held (default 4, as runBatch; `mobilenet worker`: cores + 1, as `mobilenet batch`). */
  decoders?: number;
  /** BullMQ lock of a chunk in work, renewed at half of it (default 30 s). */
  lockMs?: number;
  /** How often this worker looks for chunks whose worker died (default 30 s). */
  stalledMs?: number;
  /** Times a chunk may lose its worker before it goes to the failed set (default 3). */
  maxStalls?: number;
  /** Serve /healthz and /metrics on this port (0: any free port). */
  metricsPort?: number;
  metricsHost?: string;
  /** How long a refused chunk is held before it goes back, so that other workers take it (default 1000 ms). */
  refuseHoldMs?: number;
  log?: (message: string) => void;
  /** Log every chunk. */
  verbose?: boolean;
}

export interface ClusterWorker {
  /** `host:pid`, also the BullMQ worker name. */
  readonly id: string;
  readonly fingerprint: ModelFingerprint;
  readonly metrics: WorkerMetrics;
  /** Where /healthz and /metrics are served, when metricsPort was given. */
  readonly metricsUrl: string | undefined;
  /** Stops taking chunks, finishes those in flight, then releases everything. */
  close(): Promise<void>;
}

function intIn(v: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail('ERR_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got ${describe(v)}`);
  return v;
}

export async function startClusterWorker(o: ClusterWorkerOptions): Promise<ClusterWorker> {
  const log = o.log ?? ((m: string) => process.stderr.write(`mobilenet worker: ${m}\n`));
  const name = checkQueueName(o.queueName ?? DEFAULT_QUEUE_NAME);
  const address = parseQueueUrl(o.queue);
  const concurrency = intIn(o.concurrency ?? 2, '--concurrency', 1, 64);
  const lockMs = intIn(o.lockMs ?? 30_000, '--lock-ms', 500, 3_600_000);
  const stalledMs = intIn(o.stalledMs ?? 30_000, '--stalled-ms', 200, 3_600_000);
  const maxStalls = intIn(o.maxStalls ?? 3, '--max-stalls', 0, 1000);
  if (o.metricsPort !== undefined) intIn(o.metricsPort, '--metrics-port', 0, 65535);
  const { model, fingerprint } = await loadFingerprintedModel(o);
  const id = `${os.hostname()}:${process.pid}`;
  const metrics = new WorkerMetrics();
  let client: IORedis | undefined;
  try {
    client = await connectRedis(address, 10_000, throttledLog(log));
    const redis = client;
    redis.on('ready', () => metrics.redisUp.set(1));
    redis.on('close', () => metrics.redisUp.set(0));
    metrics.redisUp.set(1);
    const pipelines = new Map<string, ChunkPipeline>();
    const processor = chunkProcessor({ o, model, fingerprint, id, name, redis, metrics, log, pipelines });
    const worker = new Worker<ChunkData, ChunkResult>(name, processor, {
      connection: redis, prefix: KEY_PREFIX, name: id, concurrency, lockDuration: lockMs, stalledInterval: stalledMs, maxStalledCount: maxStalls,
    });
    worker.on('error', throttledLog(log));
    worker.on('failed', (job, err) => {
      if (!job || err instanceof DelayedError || err.name === 'DelayedError') return;
      metrics.chunks.inc({ outcome: 'failed' });
      log(`chunk ${job.id} failed (attempt ${job.attemptsMade}): ${err.message}`);
    });
    const served = o.metricsPort === undefined ? undefined : await serveMetrics(metrics, () => ({
      ok: redis.status === 'ready' && worker.isRunning(),
      detail: { worker: id, redis: redis.status, running: worker.isRunning(), fingerprint: fingerprintId(fingerprint) },
    }), o.metricsPort, o.metricsHost ?? '127.0.0.1');
    log(`${id} on ${address.display} queue '${name}': ${describeFingerprint(fingerprint)} (model ${fingerprintId(fingerprint)}), ${concurrency} chunk(s) at a time${served ? `, metrics on ${served.url}/metrics` : ''}`);
    let closing: Promise<void> | undefined;
    return {
      id, fingerprint, metrics, metricsUrl: served?.url,
      close: () => (closing ??= (async () => {
        await worker.close();
        await Promise.all([...pipelines.values()].map((p) => p.close()));
        await served?.close();
        model.dispose();
        await redis.quit().catch(() => redis.disconnect());
      })()),
    };
  } catch (e) {
    model.dispose();
    client?.disconnect();
    throw e;
  }
}

interface ProcessorContext {
  o: ClusterWorkerOptions;
  model: MobileNet;
  fingerprint: ModelFingerprint;
  id: string;
  name: string;
  redis: IORedis;
  metrics: WorkerMetrics;
  log: (m: string) => void;
  /** One pipeline per (embed, topk): every chunk of a run shares one. */
  pipelines: Map<string, ChunkPipeline>;
}

function chunkProcessor(c: ProcessorContext): (job: Job<ChunkData, ChunkResult>, token?: string) => Promise<ChunkResult> {
  const fp = fingerprintId(c.fingerprint);
  const refused = new Map<string, number>();
  return async (job, token) => {
    const problem = chunkProblem(job.data);
    if (problem) {
      c.metrics.chunks.inc({ outcome: 'invalid' });
      throw new UnrecoverableError(`chunk ${job.id} cannot be read by this worker: ${problem}`);
    }
    const data = job.data;
    if (data.fp !== fp) {
      const n = (refused.get(data.fp) ?? 0) + 1;
      refused.set(data.fp, n);
      const message = `it needs the model ${describeFingerprint(data.fingerprint)}; this worker runs ${describeFingerprint(c.fingerprint)}`;
      if (n === 1 || n % 100 === 0) c.log(`refusing chunk ${job.id} (${n} refused so far): ${message}; it goes back to the queue for a worker with that model`);
      c.metrics.chunks.inc({ outcome: 'refused' });
      await c.redis.hset(refusalsKey(c.name), c.id, JSON.stringify({ fp: data.fp, message, at: new Date().toISOString() }));
      await c.redis.pexpire(refusalsKey(c.name), 10 * 60_000);
      // Held a moment while this worker's slot stays busy, then delayed: other workers take it.
      await new Promise((r) => setTimeout(r, c.o.refuseHoldMs ?? 1000));
      await job.moveToDelayed(Date.now() + 200 + Math.floor(Math.random() * 300), token);
      throw new DelayedError();
    }
    if (c.o.verbose) c.log(`chunk ${job.id} started (${data.files.length} images)`);
    const timer = c.metrics.chunkSeconds.startTimer();
    c.metrics.activeChunks.inc();
    const records: WireRecord[] = [];
    try {
      const key = `${data.embed}:${data.topk}`;
      let pipeline = c.pipelines.get(key);
      if (!pipeline) {
        pipeline = new ChunkPipeline({ model: c.model, embed: data.embed, topk: data.topk, preprocess: c.fingerprint.preprocess, concurrency: c.o.decoders, batchSize: c.o.batchSize });
        c.pipelines.set(key, pipeline);
      }
      const images: PipelineImage[] = data.files.map((file, k) => ({ file, input: data.bytes ? Buffer.from(data.bytes[k], 'base64') : path.resolve(data.cwd, file) }));
      for (const r of await pipeline.run(images)) {
        records.push(toWire(r, f32));
        c.metrics.images.inc({ result: 'error' in r ? 'error' : 'ok' });
      }
    } finally {
      c.metrics.activeChunks.dec();
    }
    const seconds = timer();
    c.metrics.chunks.inc({ outcome: 'completed' });
    if (c.o.verbose) c.log(`chunk ${job.id} done (${records.length} records, ${seconds.toFixed(2)} s)`);
    return { fp, worker: c.id, records };
  };
}
