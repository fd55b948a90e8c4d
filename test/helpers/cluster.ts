/** Cluster test fixtures: photo folders, worker processes (the real CLI), and the records of an output. */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { runBatch } from '../../lib/apps/batch';
import { producerFingerprint, type ModelFingerprint } from '../../lib/apps/cluster/fingerprint';
import { runClusterBatch, type ClusterBatchOptions, type ClusterSummary } from '../../lib/apps/cluster/producer';
import { load, type MobileNet } from '../../lib';
import { REPO_ROOT, SAMPLE_DIR } from './images';
import { redisMissing, startRedis, type RedisServer } from './redis';
import { requireData, requireTool } from './skip';

export const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');

/** Skips the suite without redis-server or the sample photos (under CI=true: fails instead). */
export function requireRedis(ctx: Mocha.Context): void {
  requireData(ctx, SAMPLE_DIR);
  if (redisMissing()) requireTool(ctx, '/usr/bin/redis-server', 'apt-get install redis-server; .ci/run installs it');
}

export interface Rec {
  file: string;
  top?: Array<{ className: string; classIndex: number; probability: number }>;
  error?: { code: string; message: string };
}

/** The records of a JSONL output by file; fails on a torn line or a file recorded twice. */
export function readRecords(file: string): Map<string, Rec> {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const m = new Map<string, Rec>();
  if (text === '') return m;
  expect(text.endsWith('\n'), `${file} ends with a complete line`).to.equal(true);
  for (const line of text.slice(0, -1).split('\n')) {
    const r = JSON.parse(line) as Rec;
    expect(m.has(r.file), `one record for ${r.file}`).to.equal(false);
    m.set(r.file, r);
  }
  return m;
}

/** Every file of `expected` recorded once, with the same top-1 class (or error code) as the local batch. */
export function expectSameTop1(got: Map<string, Rec>, expected: Map<string, Rec>): void {
  expect([...got.keys()].sort()).to.deep.equal([...expected.keys()].sort());
  for (const [file, want] of expected) {
    const r = got.get(file)!;
    if (want.error) expect(r.error?.code, file).to.equal(want.error.code);
    else expect(r.top?.[0]?.classIndex, file).to.equal(want.top![0].classIndex);
  }
}

export const SAMPLES = (): string[] => fs.readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.jpg')).sort();

/** `n` sample photos (symlinks) in `dir`, plus `bad` files that are not images under image names. */
export function photoFolder(dir: string, n: number, bad = 0, offset = 0): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = SAMPLES().slice(offset, offset + n).map((f) => {
    const p = path.join(dir, f);
    fs.symlinkSync(path.join(SAMPLE_DIR, f), p);
    return p;
  });
  for (let i = 0; i < bad; i++) {
    const p = path.join(dir, `bad_${i}.jpg`);
    fs.writeFileSync(p, i % 2 ? Buffer.alloc(0) : Buffer.from(`not a jpeg ${i}`));
    files.push(p);
  }
  return files;
}

/** `n` names for 12-megapixel copies of a few sample photos (slow to decode: chunks a test can interrupt). */
export async function bigPhotoFolder(dir: string, n: number, distinct = 3): Promise<string[]> {
  fs.mkdirSync(path.join(dir, 'originals'), { recursive: true });
  const originals: string[] = [];
  for (const f of SAMPLES().slice(0, distinct)) {
    const p = path.join(dir, 'originals', `big_${f}`);
    await sharp(path.join(SAMPLE_DIR, f)).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(p);
    originals.push(p);
  }
  const photos = path.join(dir, 'photos');
  fs.mkdirSync(photos);
  return Array.from({ length: n }, (_, i) => {
    const p = path.join(photos, `copy_${String(i).padStart(3, '0')}.jpg`);
    fs.symlinkSync(originals[i % distinct], p);
    return p;
  });
}

/** The local batch's records for `input` (the reference the cluster must equal). */
export async function localRecords(input: string, out: string, model: MobileNet): Promise<Map<string, Rec>> {
  await runBatch({ input, out, model });
  return readRecords(out);
}

export interface WorkerProcess {
  child: ChildProcess;
  log(): string;
  /** Resolves with the first match of `re` in the log (checked as it grows). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: string[], cwd = REPO_ROOT): WorkerProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = async (re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = log.match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no ${re} in the log within ${timeoutMs} ms:\n${log}`);
      if (child.exitCode !== null && !log.match(re)) throw new Error(`exited (${child.exitCode}) without ${re}:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, log: () => log, waitFor, exited };
}

/** A `mobilenet worker` process, resolved once it is connected and pulling. */
export async function startWorker(url: string, queueName: string, extra: string[] = []): Promise<WorkerProcess> {
  const w = spawnCli(['worker', '--queue', url, '--queue-name', queueName, '--verbose', ...extra]);
  await w.waitFor(/ on redis:\/\/.*queue '/);
  return w;
}

/** Stops every process still running (SIGKILL): a failed test must not leave workers behind. */
export async function killAll(procs: WorkerProcess[]): Promise<void> {
  await Promise.all(procs.map(async (p) => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }));
}

/** What a cluster suite's tests share; the fields are set by the suite's before hook. */
export interface ClusterSuite {
  redis: RedisServer;
  root: string;
  model: MobileNet;
  fingerprint: ModelFingerprint;
  featureWidth: number;
  /** Worker processes to kill after each test. */
  procs: WorkerProcess[];
  /** A producer run in this process on `queueName`, 8 images a chunk. */
  produce(queueName: string, input: string, out: string, extra?: Partial<ClusterBatchOptions>): Promise<ClusterSummary>;
  /** A BullMQ handle on a queue, closed after the suite. */
  queueOf(name: string): Queue;
}

/**
 * Registers a cluster suite's hooks (call it inside describe): a redis-server on a free port, a temp
 * folder, the bundled model and its fingerprint; workers killed after each test, all closed at the end.
 */
export function clusterSuite(tmpPrefix: string): ClusterSuite {
  const queues: Queue[] = [];
  const c = {
    procs: [] as WorkerProcess[],
    produce: (queueName: string, input: string, out: string, extra: Partial<ClusterBatchOptions> = {}): Promise<ClusterSummary> =>
      runClusterBatch({ input, out, queue: c.redis.url, queueName, fingerprint: c.fingerprint, featureWidth: c.featureWidth, chunkSize: 8, pollMs: 50, ...extra }),
    queueOf: (name: string): Queue => {
      const q = new Queue(name, { connection: { host: '127.0.0.1', port: c.redis.port } });
      queues.push(q);
      return q;
    },
  } as ClusterSuite;
  before(async function () {
    requireRedis(this);
    c.redis = await startRedis();
    c.root = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    c.model = await load();
    ({ fingerprint: c.fingerprint, featureWidth: c.featureWidth } = await producerFingerprint({}));
  });
  afterEach(async () => {
    await killAll(c.procs.splice(0));
  });
  after(async () => {
    await killAll(c.procs.splice(0));
    await Promise.all(queues.map((q) => q.close()));
    c.model?.dispose();
    await c.redis?.stop();
    if (c.root) fs.rmSync(c.root, { recursive: true, force: true });
  });
  return c;
}
