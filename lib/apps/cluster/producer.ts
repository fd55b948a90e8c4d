/**
 * `mobilenet batch <input> --out <file> --queue redis://…`: the producer of a cluster batch. It
 * walks the input like the local batch, enqueues chunks of image names as BullMQ jobs with
 * content-derived ids, and is the only writer of --out, with the local batch's record format and
 * resume rule. At most `maxPending` chunks are in Redis at a time, so Redis and this process stay
 * small however large the input. Stopping (the signal) leaves every queued chunk in Redis: the
 * workers go on with them, and the next run collects them instead of queueing them again.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import { csvField, csvHeader, formatRecord, listInputs, outputFormat, readExisting, type BatchProgress, type BatchRecord, type OutputFormat } from '../batch';
import { describe, fail } from '../../core';
import { Collector } from './collector';
import { Completions } from './completions';
import { checkQueueName, connectRedis, DEFAULT_QUEUE_NAME, KEY_PREFIX, parseQueueUrl, throttledLog } from './connection';
import { fingerprintId, type ModelFingerprint } from './fingerprint';
import { chunkJobId, chunkJobOptions, chunkProblem, producerLockKey, refusalsKey, type ChunkData } from './jobs';
import { ProducerLock } from './lock';
import { Chunker, CHUNK_TOO_LARGE, MAX_CHUNK_BYTES_LIMIT } from './chunker';

export { CHUNK_TOO_LARGE, MAX_CHUNK_BYTES_LIMIT };


export interface ClusterBatchOptions {
  input: string;
  out: string;
  /** redis://host:port[/db] */
  queue: string;
  queueName?: string;
  /** The producer's model (producerFingerprint), which every chunk carries. */
  fingerprint: ModelFingerprint;
  featureWidth: number;
  embed?: boolean;
  topk?: number;
  extensions?: string[];
  /** Images per job (default 64). */
  chunkSize?: number;
  /** Send the image bytes through Redis (workers without the shared filesystem). */
  shipBytes?: boolean;
  /** --ship-bytes: most image bytes per chunk (default 16 MiB); a larger image is an error record. */
  maxChunkBytes?: number;
  /** Most chunks queued and not yet collected (default 256, or 32 with shipBytes). */
  maxPending?: number;
  /** Producer lock TTL (default 15 s; refreshed every third of it). */
  lockTtlMs?: number;
  /** How often Redis is asked for finished chunks when none came and no completion event woke the producer (default 200 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: ClusterProgress) => void;
  onWarning?: (message: string) => void;
}

export interface ClusterProgress extends BatchProgress {
  /** Workers connected to the queue (BullMQ's getWorkersCount). */
  workers: number;
  /** Chunks queued and not yet collected. */
  pendingChunks: number;
}

export interface ClusterSummary extends ClusterProgress {
  seconds: number;
  stopped: boolean;
  out: string;
  format: OutputFormat;
  /** Chunks this run added to the queue, and chunks it found there from an earlier run. */
  chunks: number;
  adopted: number;
}

function intIn(v: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail('ERR_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got ${describe(v)}`);
  return v;
}

export interface Settings {
  format: OutputFormat;
  embed: boolean;
  topk: number;
  chunkSize: number;
  maxChunkBytes: number;
  maxPending: number;
  name: string;
  header: string[];
}

function settingsOf(o: ClusterBatchOptions): Settings {
  const format = outputFormat(o.out);
  const embed = o.embed === true;
  const topk = intIn(o.topk ?? 5, 'topk', 1, o.fingerprint.classes);
  const chunkSize = intIn(o.chunkSize ?? 64, '--chunk-size', 1, 10_000);
  const maxChunkBytes = intIn(o.maxChunkBytes ?? 16 * 1024 * 1024, '--max-chunk-bytes', 1024, MAX_CHUNK_BYTES_LIMIT);
  const maxPending = intIn(o.maxPending ?? (o.shipBytes ? 32 : 256), '--max-pending', 1, 1_000_000);
  const name = checkQueueName(o.queueName ?? DEFAULT_QUEUE_NAME);
  return { format, embed, topk, chunkSize, maxChunkBytes, maxPending, name, header: csvHeader(embed, topk, o.featureWidth) };
}

/** Jobs a previous run left queued: ours are awaited instead of queued again, others removed. */
async function adoptQueued(queue: Queue, fp: string, page: number, adopt: (id: string, files: string[]) => void, warn: (m: string) => void): Promise<void> {
  const states = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
  const stale: string[] = [];
  for (let start = 0; ; start += page) {
    const jobs = await queue.getJobs([...states], start, start + page - 1, true);
    if (jobs.length === 0) break;
    for (const job of jobs) {
      if (!job?.id) continue;
      const data = job.data as ChunkData;
      if (!chunkProblem(data) && data.fp === fp) adopt(job.id, data.files);
      else stale.push(job.id);
    }
  }
  for (const id of stale) {
    await queue.remove(id).catch(() => 0);
    warn(`removed queued job ${id}: it was for another model or release (an earlier run with other options)`);
  }
}

/** Runs a cluster batch until every file is recorded (or the signal stops it) and returns its summary. */
export async function runClusterBatch(o: ClusterBatchOptions): Promise<ClusterSummary> {
  const s = settingsOf(o);
  const warn = o.onWarning ?? (() => undefined);
  const address = parseQueueUrl(o.queue);
  const source = listInputs(o.input, o.extensions);
  const first = await source.next(); // a bad input fails before Redis or --out is touched
  const client = await connectRedis(address, 10_000, throttledLog(warn));
  let lock: ProducerLock | undefined;
  try {
    lock = await ProducerLock.acquire(client, producerLockKey(s.name), s.name, o.lockTtlMs ?? 15_000, warn);
    return await produce(o, s, client, lock, source, first, warn);
  } finally {
    await source.return(undefined).catch(() => undefined);
    await lock?.release();
    await client.quit().catch(() => client.disconnect());
  }
}

async function produce(o: ClusterBatchOptions, s: Settings, client: IORedis, lock: ProducerLock, source: AsyncGenerator<string>, first: IteratorResult<string>, warn: (m: string) => void): Promise<ClusterSummary> {
  const resume = await readExisting(o.out, s.format, s.header, s.embed, warn);
  let fd: number;
  try {
    fd = fs.openSync(o.out, 'a');
  } catch (e) {
    return fail('ERR_INVALID_ARGUMENT', `cannot open ${o.out} for appending: ${(e as Error).message}`, e);
  }
  const queue = new Queue(s.name, { connection: client, prefix: KEY_PREFIX });
  const completions = new Completions(client, s.name);
  const run = new ProducerRun(o, s, queue, client, lock, fd, resume.done, warn, completions);
  try {
    if (s.format === 'csv' && resume.empty) fs.writeSync(fd, s.header.map(csvField).join(',') + '\n');
    return await run.execute(source, first);
  } finally {
    await completions.close();
    await queue.close().catch(() => undefined);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The state of one producer run: what is recorded, what is queued, and the loops that move them. */
class ProducerRun {
  private readonly fp: string;
  private readonly progress: ClusterProgress = { processed: 0, errors: 0, skipped: 0, rate: 0, workers: 0, pendingChunks: 0 };
  private readonly started = process.hrtime.bigint();
  /** Queued chunk → its files (resolved), until collected. */
  private readonly outstanding = new Map<string, string[]>();
  private readonly queuedFiles = new Set<string>();
  /** Files recorded by this run that the walk has not reached yet (they are not "already in --out"). */
  private readonly recordedAhead = new Set<string>();
  private readonly collector: Collector;
  private wake: (() => void) | undefined;
  private fatal: unknown;
  private finished = false;
  private walked = false;
  private chunks = 0;
  private adopted = 0;
  private readonly refusalsSeen = new Set<string>();

  constructor(
    private readonly o: ClusterBatchOptions, private readonly s: Settings, private readonly queue: Queue, private readonly client: IORedis,
    private readonly lock: ProducerLock, private readonly fd: number, private readonly done: Set<string>, private readonly warn: (m: string) => void,
    private readonly completions: Completions,
  ) {
    this.fp = fingerprintId(o.fingerprint);
    this.collector = new Collector({
      queue, fp: this.fp, embed: s.embed, featureWidth: o.featureWidth, page: o.shipBytes ? 8 : 200, warn,
      sink: (rec) => this.record(rec),
      flush: () => fs.fsyncSync(fd),
      onRemoved: (id) => this.forget(id),
    });
  }

  private record(rec: BatchRecord): void {
    const key = path.resolve(rec.file);
    if (this.done.has(key)) return;
    fs.writeSync(this.fd, formatRecord(this.s.format, this.s.header.length, rec));
    this.done.add(key);
    if (!this.walked) this.recordedAhead.add(key);
    this.progress.processed++;
    if ('error' in rec) this.progress.errors++;
  }

  private forget(id: string): void {
    for (const f of this.outstanding.get(id) ?? []) this.queuedFiles.delete(f);
    this.outstanding.delete(id);
  }

  private track(id: string, files: string[]): void {
    if (this.outstanding.has(id)) return;
    const resolved = files.map((f) => path.resolve(f));
    this.outstanding.set(id, resolved);
    for (const f of resolved) this.queuedFiles.add(f);
  }

  private stopping(): boolean {
    return this.o.signal?.aborted === true || this.fatal !== undefined || this.lock.lost;
  }

  private checkFatal(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.lock.lost) fail('ERR_QUEUE', `lost the producer lock of the queue '${this.s.name}' to another producer (this one was stalled past the lock's TTL); stopping so that --out has one writer`);
  }

  /** Resolves after the next collection round (or at once when stopping). */
  private nextRound(): Promise<void> {
    if (this.stopping() || this.finished) return Promise.resolve();
    return new Promise((r) => (this.wake = r));
  }

  async execute(source: AsyncGenerator<string>, first: IteratorResult<string>): Promise<ClusterSummary> {
    await this.collector.drain();
    await adoptQueued(this.queue, this.fp, this.o.shipBytes ? 16 : 500, (id, files) => {
      this.track(id, files);
      this.adopted++;
    }, this.warn);
    const loops = [this.collectLoop(), this.statusLoop()];
    let stopped = false;
    try {
      stopped = !(await this.enqueueAll(source, first));
      while (!stopped && this.outstanding.size > 0) {
        await this.nextRound();
        this.checkFatal();
        stopped = this.stopping();
      }
      this.checkFatal();
    } finally {
      this.finished = true;
      this.wake?.();
      this.completions.wake(); // the loops' waits end now, not at their next poll
      await Promise.all(loops);
    }
    if (stopped) await this.collector.collectOnce().catch(() => 0);
    this.report();
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    return { ...this.progress, pendingChunks: this.outstanding.size, seconds, stopped, out: this.o.out, format: this.s.format, chunks: this.chunks, adopted: this.adopted };
  }

  private report(): void {
    const secs = Number(process.hrtime.bigint() - this.started) / 1e9;
    this.progress.rate = secs > 0 ? this.progress.processed / secs : 0;
    this.progress.pendingChunks = this.outstanding.size;
    this.o.onProgress?.({ ...this.progress });
  }

  private async collectLoop(): Promise<void> {
    while (!this.finished) {
      let n = 0;
      try {
        n = await this.collector.collectOnce();
      } catch (e) {
        this.fatal = e; // e.g. --out cannot be written (disk full): stop rather than drop records
      }
      if (n > 0) this.report();
      const w = this.wake;
      this.wake = undefined;
      w?.();
      if (this.fatal !== undefined) return;
      if (n === 0) await this.completions.wait(this.o.pollMs ?? 200);
    }
  }

  /** Every 2 s: live workers for the progress line, and a warning per worker that refuses our chunks. */
  private async statusLoop(): Promise<void> {
    while (!this.finished) {
      await this.checkWorkers();
      this.report();
      for (let t = 0; t < 100 && !this.finished; t++) await new Promise((r) => setTimeout(r, 20));
    }
    await this.checkWorkers(); // a run shorter than the 2 s period still warns of a worker that refused it
  }

  private async checkWorkers(): Promise<void> {
    try {
      this.progress.workers = await this.queue.getWorkersCount();
      const refusals = await this.client.hgetall(refusalsKey(this.s.name));
      for (const [worker, why] of Object.entries(refusals)) {
        const r = JSON.parse(why) as { fp?: string; message?: string };
        if (r.fp !== this.fp || this.refusalsSeen.has(worker)) continue;
        this.refusalsSeen.add(worker);
        this.warn(`worker ${worker} refuses this run's chunks: ${r.message ?? 'model mismatch'}`);
      }
    } catch {
      // Redis away: the collector's connection reports it.
    }
  }

  /** Walks the input and queues its unrecorded files; false when stopped before the end. */
  private async enqueueAll(source: AsyncGenerator<string>, first: IteratorResult<string>): Promise<boolean> {
    const chunker = new Chunker(this.o, this.s, this.fp, (file, error) => this.record({ file, error }), this.warn);
    for (let r = first; !r.done; r = await source.next()) {
      if (this.stopping()) return false;
      const key = path.resolve(r.value);
      if (this.done.has(key) || this.queuedFiles.has(key)) {
        if (this.done.has(key) && !this.recordedAhead.delete(key)) this.progress.skipped++;
        continue;
      }
      this.queuedFiles.add(key);
      const ready = await chunker.add(r.value);
      if (ready.length > 0) await this.submit(ready);
    }
    this.walked = true;
    this.recordedAhead.clear();
    const rest = chunker.finish();
    if (rest.length > 0) await this.submit(rest);
    return !this.stopping();
  }

  private async submit(chunks: ChunkData[]): Promise<void> {
    const jobs = chunks.map((data) => ({ name: 'chunk', data, opts: chunkJobOptions(chunkJobId(data)) }));
    await this.queue.addBulk(jobs);
    jobs.forEach((j) => this.track(j.opts.jobId as string, j.data.files));
    this.chunks += jobs.length;
    this.report();
    while (this.outstanding.size >= this.s.maxPending && !this.stopping()) {
      await this.nextRound();
      this.checkFatal();
    }
  }
}
