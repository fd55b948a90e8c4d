/**
 * The cluster batch (lib/apps/cluster): a real redis-server, real `mobilenet worker` processes, the
 * producer in this process. Every output must hold one record per file whose top-1 equals the
 * local batch's.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { fingerprintId } from '../lib/apps/cluster/fingerprint';
import { chunkJobId, type ChunkData } from '../lib/apps/cluster/jobs';
import type { ClusterSummary } from '../lib/apps/cluster/producer';
import { bigPhotoFolder, clusterSuite, expectSameTop1, localRecords, photoFolder, readRecords, startWorker, type Rec } from './helpers/cluster';
import { DATA_DIR } from './helpers/images';
import { requireData } from './helpers/skip';

const get = (url: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });

describe('cluster batch on a real Redis (lib/apps/cluster, mobilenet worker)', function () {
  const c = clusterSuite('mobilenet-cluster-');
  const { procs, produce, queueOf } = c;

  describe('enqueue, collect, resume', () => {
    let input: string;
    let local: Map<string, Rec>;
    before(async () => {
      input = path.join(c.root, 'photos');
      photoFolder(input, 40, 4);
      local = await localRecords(input, path.join(c.root, 'local.jsonl'), c.model);
      expect([...local.values()].filter((r) => r.error)).to.have.length(4);
    });

    it('queues content-addressed chunks: a second run adopts them instead of queueing them again', async () => {
      const out = path.join(c.root, 'idem.jsonl');
      const runUntilQueued = async (): Promise<ClusterSummary> => {
        const stop = new AbortController();
        return produce('idem', input, out, { signal: stop.signal, onProgress: (p) => p.pendingChunks === 6 && stop.abort() });
      };
      const first = await runUntilQueued();
      expect(first).to.include({ stopped: true, chunks: 6, adopted: 0, processed: 0 });
      const q = queueOf('idem');
      const jobs = await q.getJobs(['wait']);
      expect(jobs).to.have.length(6);
      for (const j of jobs) expect(j.id, 'the id is the hash of the content').to.equal(chunkJobId(j.data as ChunkData));
      const second = await runUntilQueued();
      expect(second).to.include({ chunks: 0, adopted: 6 });
      expect((await q.getJobs(['wait'])).map((j) => j.id).sort()).to.deep.equal(jobs.map((j) => j.id).sort());
      // Queueing the same chunk directly is a no-op as well (BullMQ keeps the first job of an id).
      await q.add('chunk', jobs[0].data, { jobId: jobs[0].id });
      expect(await q.getJobCountByTypes('wait')).to.equal(6);
    });

    it('one record per file, top-1 equal to the local batch, bad images as error records', async () => {
      procs.push(await startWorker(c.redis.url, 'idem'));
      const out = path.join(c.root, 'idem.jsonl');
      const s = await produce('idem', input, out);
      expect(s).to.include({ stopped: false, adopted: 6, chunks: 0, processed: 44, errors: 4 });
      const got = readRecords(out);
      expectSameTop1(got, local);
      // Not only the top-1: the whole line is the local batch's, byte for byte.
      const localLines = new Set(fs.readFileSync(path.join(c.root, 'local.jsonl'), 'utf8').split('\n'));
      for (const line of fs.readFileSync(out, 'utf8').trim().split('\n')) expect(localLines.has(line), line).to.equal(true);
      expect(await queueOf('idem').getJobCountByTypes('wait', 'active', 'completed', 'failed', 'delayed')).to.equal(0);
    });

    it('resumes: skips recorded files, cuts a torn last line, queues only the missing files', async () => {
      const out = path.join(c.root, 'idem.jsonl');
      const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
      fs.writeFileSync(out, lines.slice(0, 20).join('\n') + '\n' + lines[20].slice(0, 25));
      procs.push(await startWorker(c.redis.url, 'idem'));
      const warnings: string[] = [];
      const s = await produce('idem', input, out, { onWarning: (m) => warnings.push(m) });
      expect(warnings.join('\n')).to.match(/partial last record/);
      expect(s).to.include({ skipped: 20, processed: 24, chunks: 3 });
      expectSameTop1(readRecords(out), local);
    });

    it('a finished chunk whose files are already in --out (a crash between write and remove) adds no second record', async () => {
      const out = path.join(c.root, 'idem.jsonl');
      const before = fs.readFileSync(out, 'utf8');
      const q = queueOf('idem');
      const files = [...local.keys()].slice(0, 8);
      const chunk: ChunkData = { v: 1, fp: fingerprintId(c.fingerprint), fingerprint: c.fingerprint, embed: false, topk: 5, cwd: process.cwd(), files };
      procs.push(await startWorker(c.redis.url, 'idem'));
      const job = await q.add('chunk', chunk, { jobId: chunkJobId(chunk) });
      while ((await job.getState()) !== 'completed') await new Promise((r) => setTimeout(r, 20));
      const s = await produce('idem', input, out);
      expect(s).to.include({ processed: 0, skipped: 44 });
      expect(fs.readFileSync(out, 'utf8')).to.equal(before);
      expect(await q.getJobCountByTypes('completed')).to.equal(0);
    });
  });

  it('a worker with other weights refuses the chunks visibly; the run completes on the right worker', async function () {
    const other = path.join(DATA_DIR, 'weights', 'tf-slim-frozen', 'mobilenet_v1_0.25_192', 'frozen_graph.pb');
    requireData(this, other);
    const input = path.join(c.root, 'fp');
    photoFolder(input, 24, 0, 50);
    const local = await localRecords(input, path.join(c.root, 'fp-local.jsonl'), c.model);
    const wrong = await startWorker(c.redis.url, 'fp', ['--weights', other, '--resolution', '224', '--metrics-port', '0']);
    procs.push(wrong);
    const warnings: string[] = [];
    const out = path.join(c.root, 'fp.jsonl');
    const running = produce('fp', input, out, { onWarning: (m) => warnings.push(m) });
    await wrong.waitFor(/refusing chunk chunk-\w+ .*it needs the model α=0.25 224px 1000 classes.*this worker runs α=0.25 224px 1001 classes/);
    const metricsUrl = wrong.log().match(/metrics on (http:\/\/[\d.:]+)\/metrics/)![1];
    procs.push(await startWorker(c.redis.url, 'fp'));
    const s = await running;
    expect(s).to.include({ processed: 24, errors: 0 });
    expectSameTop1(readRecords(out), local);
    expect(warnings.join('\n')).to.match(/worker .* refuses this run's chunks: it needs the model/);
    const metrics = await get(`${metricsUrl}/metrics`);
    expect(metrics.body).to.match(/mobilenet_worker_chunks_total\{outcome="refused"\} [1-9]/);
    expect(metrics.body).not.to.match(/mobilenet_worker_chunks_total\{outcome="completed"\}/);
    const health = await get(`${metricsUrl}/healthz`);
    expect(health.status).to.equal(200);
    expect(JSON.parse(health.body)).to.include({ status: 'ok', redis: 'ready' });
  });

  it('SIGTERM: the worker finishes the chunk in flight, takes no other, and exits 0', async () => {
    const dir = path.join(c.root, 'term');
    await bigPhotoFolder(dir, 16, 2);
    const input = path.join(dir, 'photos');
    const local = await localRecords(input, path.join(dir, 'local.jsonl'), c.model);
    const slow = ['--concurrency', '1', '--decoders', '1', '--threads', '1'];
    const a = await startWorker(c.redis.url, 'term', slow);
    procs.push(a);
    const out = path.join(dir, 'out.jsonl');
    const running = produce('term', input, out);
    const [, chunk] = await a.waitFor(/chunk (chunk-\w+) started/);
    a.child.kill('SIGTERM');
    const exit = await a.exited;
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(a.log()).to.include(`chunk ${chunk} done (8 records`);
    expect(a.log().match(/ started /g), 'no chunk taken after SIGTERM').to.have.length(1);
    const b = await startWorker(c.redis.url, 'term', slow);
    procs.push(b);
    const s = await running;
    expect(b.log(), 'the finished chunk was not run again').not.to.include(`chunk ${chunk} started`);
    expect(s).to.include({ processed: 16, errors: 0 });
    expectSameTop1(readRecords(out), local);
  });
});
