/**
 * The producer's side of results: finished chunk jobs (completed, or failed for good) become
 * records in --out, and only then are the jobs removed from Redis. A crash between the two leaves
 * the job in place; the next run writes only the records --out does not have yet. That, and the
 * at-least-once delivery of BullMQ (a stalled chunk runs again), is why every record goes through
 * the `sink`, which drops files already recorded.
 */
import type { Job, Queue } from 'bullmq';
import type { BatchRecord } from '../batch';
import { chunkProblem, fromWire, type ChunkData, type ChunkResult } from './jobs';

/** The error code of every file of a chunk that ended in BullMQ's failed set. */
export const CHUNK_FAILED = 'ERR_CHUNK_FAILED';
/** The error code of a file a worker's result lacks (or holds malformed). */
export const CHUNK_RESULT = 'ERR_CHUNK_RESULT';

export interface CollectorOptions {
  queue: Queue;
  fp: string;
  embed: boolean;
  featureWidth: number;
  /** Jobs fetched per round (their data comes along: keep it small when chunks carry bytes). */
  page: number;
  /** Writes a record unless its file is already in the output. */
  sink: (rec: BatchRecord) => void;
  /** Makes the records written so far durable (called before their jobs are removed). */
  flush: () => void;
  /** A finished job was removed: its id. */
  onRemoved: (jobId: string) => void;
  warn: (m: string) => void;
}

export class Collector {
  constructor(private readonly o: CollectorOptions) {}

  /** One round: the finished jobs Redis holds now, up to a page of each kind. Returns how many. */
  async collectOnce(): Promise<number> {
    const { queue, page } = this.o;
    const completed = (await queue.getJobs(['completed'], 0, page - 1, true)) as Job[];
    const failed = (await queue.getJobs(['failed'], 0, page - 1, true)) as Job[];
    const finished = [...completed.map((j) => [j, true] as const), ...failed.map((j) => [j, false] as const)].filter(([j]) => j && j.id);
    if (finished.length === 0) return 0;
    for (const [job, ok] of finished) this.write(job, ok);
    this.o.flush();
    for (const [job] of finished) {
      // A job that another process removed meanwhile is just as gone.
      await job.remove().catch((e: Error) => this.o.warn(`could not remove finished job ${job.id}: ${e.message}`));
      this.o.onRemoved(job.id as string);
    }
    return finished.length;
  }

  /** Rounds until nothing finished is left (a resumed run's backlog). */
  async drain(): Promise<void> {
    while ((await this.collectOnce()) > 0);
  }

  private write(job: Job, ok: boolean): void {
    const data = job.data as ChunkData;
    const problem = chunkProblem(data);
    if (problem) {
      this.o.warn(`job ${job.id} in the queue is not a chunk of this release (${problem}); removed`);
      return;
    }
    if (data.fp !== this.o.fp) {
      this.o.warn(`job ${job.id} was for another model (an earlier run with other model options); removed, its files are queued again`);
      return;
    }
    if (!ok) {
      const message = `chunk ${job.id} failed after ${job.attemptsMade} attempt(s) and ${job.stalledCounter} stall(s): ${job.failedReason ?? 'no reason given'}`;
      for (const file of data.files) this.o.sink({ file, error: { code: CHUNK_FAILED, message } });
      return;
    }
    const result = job.returnvalue as ChunkResult | null;
    const byFile = new Map<string, BatchRecord>();
    if (result && result.fp === this.o.fp && Array.isArray(result.records)) {
      for (const r of result.records) {
        const rec = fromWire(r, this.o.embed, this.o.featureWidth);
        if (rec) byFile.set(rec.file, rec);
      }
    }
    const worker = result && typeof result.worker === 'string' ? result.worker : 'unknown';
    for (const file of data.files)
      this.o.sink(byFile.get(file) ?? { file, error: { code: CHUNK_RESULT, message: `worker ${worker} returned no valid record for this file in chunk ${job.id}` } });
  }
}
