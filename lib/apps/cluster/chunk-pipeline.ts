/**
 * One batch pipeline for a worker's whole life, fed by every chunk it holds. A pipeline per chunk
 * started empty and ended on a part-filled batch each time, and two chunks at once ran two
 * pipelines against each other: the worker then spent 12–14 ms of CPU an image against the local
 * batch's 8.5–11.6 (bench:cluster). Here chunks queue their images into one stream, records go
 * back to their chunk, and a part-filled batch ships only when the stream runs dry.
 */
import { runPipeline, type BatchRecord, type PipelineImage, type PipelineOptions } from '../batch';

interface Pending {
  /** Records still to come. */
  left: number;
  records: BatchRecord[];
  done: () => void;
  failed: (e: unknown) => void;
}

export class ChunkPipeline {
  private readonly queue: Array<{ image: PipelineImage; chunk: Pending }> = [];
  /** Image key → its chunk and file name; keys are unique even when two chunks name one file. */
  private readonly owners = new Map<string, { chunk: Pending; name: string }>();
  private waiting: Array<() => void> = [];
  private readonly chunks = new Set<Pending>();
  private closed = false;
  private seq = 0;
  private readonly running: Promise<void>;

  constructor(opts: PipelineOptions) {
    this.running = runPipeline((flush) => this.next(flush), opts, (records) => this.route(records));
    // A pipeline that breaks (not a bad image: those are records) fails the chunks it holds.
    this.running.catch((e: unknown) => {
      this.closed = true;
      for (const chunk of this.chunks) chunk.failed(e);
    });
  }

  /** Classifies a chunk's images; resolves with one record per image, in the order they finished. */
  run(images: PipelineImage[]): Promise<BatchRecord[]> {
    if (this.closed) return Promise.reject(new Error('the chunk pipeline is closed'));
    if (images.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const chunk: Pending = {
        left: images.length, records: [],
        done: () => (this.chunks.delete(chunk), resolve(chunk.records)),
        failed: (e) => (this.chunks.delete(chunk), reject(e)),
      };
      this.chunks.add(chunk);
      for (const image of images) this.queue.push({ image, chunk });
      this.wakeAll();
    });
  }

  /** Finishes the images queued and in flight, then stops. */
  close(): Promise<void> {
    this.closed = true;
    this.wakeAll();
    return this.running;
  }

  private async next(flush: () => void): Promise<PipelineImage | undefined> {
    while (this.queue.length === 0) {
      if (this.closed) return undefined;
      flush();
      await new Promise<void>((r) => this.waiting.push(r));
    }
    const { image, chunk } = this.queue.shift()!;
    const key = String(this.seq++);
    this.owners.set(key, { chunk, name: image.file });
    return { file: key, input: image.input };
  }

  private wakeAll(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  private route(records: BatchRecord[]): void {
    for (const r of records) {
      const owner = this.owners.get(r.file);
      if (!owner) continue;
      this.owners.delete(r.file);
      owner.chunk.records.push({ ...r, file: owner.name });
      if (--owner.chunk.left === 0) owner.chunk.done();
    }
  }
}
