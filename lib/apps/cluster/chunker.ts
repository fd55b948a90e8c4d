/** The producer's chunking: names grouped into chunk jobs, and with --ship-bytes the bytes too, bounded per chunk. */
import { promises as fsp } from 'fs';
import { CHUNK_FORMAT, type ChunkData } from './jobs';
import type { ClusterBatchOptions, Settings } from './producer';

/** Most image bytes one chunk may carry through Redis (base64 adds a third; Redis' bulk limit is 512 MB). */
export const MAX_CHUNK_BYTES_LIMIT = 256 * 1024 * 1024;
/** The code of a file too large for one chunk under --ship-bytes. */
export const CHUNK_TOO_LARGE = 'ERR_CHUNK_TOO_LARGE';

/** Groups names into chunks; with --ship-bytes reads each file and cuts chunks by bytes too. */
export class Chunker {
  private files: string[] = [];
  private bytes: string[] = [];
  private size = 0;
  private ready: ChunkData[] = [];

  constructor(private readonly o: ClusterBatchOptions, private readonly s: Settings, private readonly fp: string,
    private readonly reject: (file: string, error: { code: string; message: string }) => void, private readonly warn: (m: string) => void) {}

  /** Adds a file; returns the chunks ready to be queued (several at a time, to queue them in one round trip). */
  async add(file: string): Promise<ChunkData[]> {
    if (this.o.shipBytes) {
      let buf: Buffer;
      try {
        buf = await fsp.readFile(file);
      } catch (e) {
        this.reject(file, { code: (e as NodeJS.ErrnoException).code ?? 'ERR_INVALID_ARGUMENT', message: `cannot read ${file}: ${(e as Error).message}` });
        return [];
      }
      if (buf.length > this.s.maxChunkBytes) {
        const message = `${file} is ${buf.length} bytes, over --max-chunk-bytes ${this.s.maxChunkBytes} (the most image bytes one chunk carries through Redis); raise it (up to ${MAX_CHUNK_BYTES_LIMIT}) or run the workers on a shared filesystem without --ship-bytes`;
        this.warn(message);
        this.reject(file, { code: CHUNK_TOO_LARGE, message });
        return [];
      }
      if (this.size + buf.length > this.s.maxChunkBytes) this.cut();
      this.bytes.push(buf.toString('base64'));
      this.size += buf.length;
    }
    this.files.push(file);
    if (this.files.length >= this.s.chunkSize) this.cut();
    // Several chunks per round trip, but never more than one chunk's worth of bytes held here.
    if (this.ready.length >= 16 || (this.o.shipBytes && this.ready.length > 0)) return this.take();
    return [];
  }

  finish(): ChunkData[] {
    this.cut();
    return this.take();
  }

  private take(): ChunkData[] {
    const r = this.ready;
    this.ready = [];
    return r;
  }

  private cut(): void {
    if (this.files.length === 0) return;
    const { embed, topk } = this.s;
    const data: ChunkData = { v: CHUNK_FORMAT, fp: this.fp, fingerprint: this.o.fingerprint, embed, topk, cwd: process.cwd(), files: this.files };
    if (this.o.shipBytes) data.bytes = this.bytes;
    this.ready.push(data);
    this.files = [];
    this.bytes = [];
    this.size = 0;
  }
}
