/**
 * What a batch job writes: one JSONL line or CSV record per image, appended with one write(2) each,
 * and how an existing output is read back to resume.
 */
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { describe, fail, MobileNetError, type ClassScore } from '../core';

export type OutputFormat = 'jsonl' | 'csv';

/** Records of these codes are not "done": a re-run tries their files again (a later record supersedes). */
const RETRIED_CODES = new Set(['ERR_READ']);

export function outputFormat(out: string): OutputFormat {
  if (typeof out !== 'string' || out.length === 0) fail('ERR_INVALID_ARGUMENT', `--out must be a file path, got ${describe(out)}`);
  const ext = path.extname(out).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  return fail('ERR_INVALID_ARGUMENT', `--out must end in .jsonl, .ndjson or .csv (the format is taken from the name), got ${JSON.stringify(out)}`);
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function parseCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  fields.push(cur);
  return fields;
}

export function csvHeader(embed: boolean, topk: number, width: number): string[] {
  const head = ['file', 'error_code', 'error_message'];
  if (embed) for (let i = 0; i < width; i++) head.push(`e${i}`);
  else for (let i = 1; i <= topk; i++) head.push(`label_${i}`, `index_${i}`, `prob_${i}`);
  return head;
}

/** Shortest decimal that reads back as the same float32. */
export const f32 = (x: number): number => Number(x.toPrecision(9));

export interface Resume {
  done: Set<string>;
  /** The output is new or empty (CSV needs its header). */
  empty: boolean;
}

/**
 * Reads an existing output: the files it records, after cutting off a trailing partial record.
 * Checks that it was written in the same mode (labels vs embeddings, CSV columns).
 */
export async function readExisting(out: string, format: OutputFormat, header: string[], embed: boolean, warn: (m: string) => void): Promise<Resume> {
  const done = new Set<string>();
  let size: number;
  try {
    const st = await fsp.stat(out);
    // A device or FIFO as --out (e.g. /dev/full) has nothing to resume from and may never end.
    if (!st.isFile()) return { done, empty: true };
    size = st.size;
  } catch {
    return { done, empty: true };
  }
  let offset = 0;
  let lastEnd = 0;
  let inQuotes = false;
  let pending: Buffer[] = [];
  let recordIndex = 0;
  let damaged = 0;
  const handle = (text: string): void => {
    const index = recordIndex++;
    if (text.trim() === '') return;
    if (format === 'csv') {
      const fields = parseCsvRecord(text.replace(/\r$/, ''));
      if (index === 0) {
        if (fields.join(',') !== header.join(','))
          fail('ERR_INVALID_ARGUMENT', `${out} has the columns ${fields.slice(0, 6).join(',')}${fields.length > 6 ? ',…' : ''}; this run writes ${header.slice(0, 6).join(',')}${header.length > 6 ? ',…' : ''} (same --embed/--topk/model needed to resume, or choose another --out)`);
        return;
      }
      if (fields.length === header.length && fields[0] !== '') {
        if (!RETRIED_CODES.has(fields[1])) done.add(path.resolve(fields[0]));
      } else damaged++;
      return;
    }
    let rec: { file?: unknown; top?: unknown; embedding?: unknown; error?: unknown };
    try {
      rec = JSON.parse(text);
    } catch {
      damaged++;
      return;
    }
    if (!rec || typeof rec.file !== 'string') {
      damaged++;
      return;
    }
    if ((embed && rec.top !== undefined) || (!embed && rec.embedding !== undefined))
      fail('ERR_INVALID_ARGUMENT', `${out} holds ${embed ? 'top-k labels' : 'embeddings'} but this run writes ${embed ? 'embeddings (--embed)' : 'top-k labels'}; choose another --out`);
    const code = (rec.error as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !RETRIED_CODES.has(code)) done.add(path.resolve(rec.file));
  };
  // Only the bytes there at the start: the stat'ed size bounds the read.
  for await (const chunk of (size > 0 ? fs.createReadStream(out, { start: 0, end: size - 1 }) : []) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      // Byte-level scan is safe for UTF-8: '"' and '\n' never occur inside multi-byte characters.
      if (format === 'csv' && b === 0x22) inQuotes = !inQuotes;
      else if (b === 0x0a && !inQuotes) {
        pending.push(chunk.subarray(start, i));
        handle(Buffer.concat(pending).toString('utf8'));
        pending = [];
        start = i + 1;
        lastEnd = offset + i + 1;
      }
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
    offset += chunk.length;
  }
  if (lastEnd < size) {
    warn(`${out}: removed a partial last record (${size - lastEnd} bytes) left by an interrupted run`);
    await fsp.truncate(out, lastEnd);
  }
  if (damaged > 0) warn(`${out}: ${damaged} damaged record(s) ignored; their files will be processed again`);
  return { done, empty: lastEnd === 0 };
}

export function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof MobileNetError) return { code: e.code, message: e.message };
  const err = e as Error & { code?: unknown };
  return { code: typeof err?.code === 'string' ? err.code : 'ERR_NATIVE', message: err?.message ?? String(e) };
}

/** One output record: the top-k labels, the pooled features, or why the image has neither. */
export type BatchRecord =
  | { file: string; top: ClassScore[] }
  | { file: string; embedding: ArrayLike<number> }
  | { file: string; error: { code: string; message: string } };

/** The record as one line of the output (with its '\n'); `columns` is the CSV header's length. */
export function formatRecord(format: OutputFormat, columns: number, rec: BatchRecord): string {
  if ('error' in rec) {
    const { error } = rec;
    if (format === 'jsonl') return JSON.stringify({ file: rec.file, error }) + '\n';
    return [rec.file, error.code, error.message.replace(/[\r\n]+/g, ' '), ...new Array(columns - 3).fill('')].map(csvField).join(',') + '\n';
  }
  if ('top' in rec) {
    const top = rec.top;
    if (format === 'jsonl') return JSON.stringify({ file: rec.file, top: top.map((s) => ({ className: s.className, classIndex: s.classIndex, probability: f32(s.probability) })) }) + '\n';
    return [rec.file, '', '', ...top.flatMap((s) => [s.className, s.classIndex, f32(s.probability)])].map(csvField).join(',') + '\n';
  }
  const values = Array.from(rec.embedding, f32);
  if (format === 'jsonl') return JSON.stringify({ file: rec.file, embedding: values }) + '\n';
  return [rec.file, '', '', ...values].map(csvField).join(',') + '\n';
}

/**
 * The output file, appended to. The first write error (ENOSPC, EIO, …) is kept and later writes are
 * dropped, so the job stops taking files; resume recovers what was written.
 */
export class RecordFile {
  failure: MobileNetError | undefined;

  private constructor(private readonly out: string, private readonly fd: number) {}

  static open(out: string): RecordFile {
    try {
      return new RecordFile(out, fs.openSync(out, 'a'));
    } catch (e) {
      return fail('ERR_INVALID_ARGUMENT', `cannot open ${out} for appending: ${(e as Error).message}`, e);
    }
  }

  write(line: string): void {
    if (this.failure) return;
    try {
      fs.writeSync(this.fd, line);
    } catch (e) {
      this.failure = new MobileNetError('ERR_WRITE', `cannot write to ${this.out}: ${(e as Error).message}; the records written so far are kept, re-run the same command to resume once there is room`, { cause: e });
    }
  }

  /** Flushes to disk and closes; a flush error becomes the failure unless a write failed first. */
  close(): void {
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      this.failure ??= new MobileNetError('ERR_WRITE', `cannot flush ${this.out} to disk: ${(e as Error).message}`, { cause: e });
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
