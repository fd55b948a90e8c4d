/**
 * The batch job's input buffers, filled in place: a decoder claims a row of the batch being filled
 * and the native resize writes the image straight into it, so no image is copied into a batch.
 * A batch goes to inference once every row is claimed and settled (or, at the end, once the rows
 * claimed so far are settled). A fixed pool of buffers bounds how far decoding runs ahead.
 */
export interface FilledBatch {
  /** batchSize × imageSize floats; rows past `files.length` and rows with ok[i] false hold stale data. */
  data: Float32Array;
  files: string[];
  /** Per row: the image was written (false: its error was already recorded). */
  ok: boolean[];
}

interface Filling extends FilledBatch {
  settled: number;
  /** Ship with fewer than batchSize rows once those are settled (flush()). */
  flush?: boolean;
}

export class BatchSlots {
  private readonly free: Float32Array[];
  private current: Filling | undefined;
  /** Batches with claimed rows that have not shipped yet. */
  private readonly open = new Set<Filling>();
  private readonly ready: FilledBatch[] = [];
  private closed = false;
  private claimWaiters: Array<() => void> = [];
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly imageSize: number, private readonly batchSize: number, buffers: number) {
    this.free = Array.from({ length: Math.max(2, buffers) }, () => new Float32Array(batchSize * imageSize));
  }

  /** A row for `file`: write imageSize floats at `offset` of `data`, then call settle(). */
  async claim(file: string): Promise<{ batch: FilledBatch; row: number; data: Float32Array; offset: number }> {
    for (;;) {
      if (this.current && this.current.files.length >= this.batchSize) this.current = undefined; // full: ships when settled
      if (this.current) break;
      const buffer = this.free.pop();
      if (buffer) {
        this.current = { data: buffer, files: [], ok: [], settled: 0 };
        this.open.add(this.current);
      } else await new Promise<void>((r) => this.claimWaiters.push(r));
    }
    const batch = this.current;
    const row = batch.files.length;
    batch.files.push(file);
    batch.ok.push(false);
    return { batch, row, data: batch.data, offset: row * this.imageSize };
  }

  settle(batch: FilledBatch, row: number, ok: boolean): void {
    const b = batch as Filling;
    b.ok[row] = ok;
    b.settled++;
    this.shipIfDone(b);
  }

  /**
   * The batch being filled ships once its claimed rows are settled, without waiting for a full
   * batch; later claims start a new one. For a source that has nothing more for now (a cluster
   * worker between chunks), so the images already claimed are not held back.
   */
  flush(): void {
    const b = this.current;
    if (!b) return;
    b.flush = true;
    this.current = undefined;
    this.shipIfDone(b);
  }

  /** No more claims: batches being filled ship once their claimed rows are settled. */
  close(): void {
    this.closed = true;
    for (const b of [...this.open]) this.shipIfDone(b);
    this.wakeReady();
  }

  /** The next batch to infer, or undefined when closed and everything has shipped. */
  async next(): Promise<FilledBatch | undefined> {
    for (;;) {
      const b = this.ready.shift();
      if (b) return b;
      if (this.closed && this.open.size === 0) return undefined;
      await new Promise<void>((r) => this.readyWaiters.push(r));
    }
  }

  /** After inference: the buffer can be filled again. */
  recycle(batch: FilledBatch): void {
    this.free.push(batch.data);
    for (const w of this.claimWaiters.splice(0)) w();
  }

  private shipIfDone(b: Filling): void {
    if (b.settled < b.files.length || (b.files.length < this.batchSize && !this.closed && !b.flush)) return;
    this.open.delete(b);
    if (this.current === b) this.current = undefined;
    if (b.files.length === 0) this.recycle(b);
    else this.ready.push(b);
    this.wakeReady();
  }

  private wakeReady(): void {
    for (const w of this.readyWaiters.splice(0)) w();
  }
}
