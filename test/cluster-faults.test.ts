/**
 * The cluster batch under faults: workers killed mid-chunk, a chunk that keeps losing its worker,
 * producers killed, interrupted or doubled, and images shipped through Redis. Real redis-server
 * and CLI processes; short BullMQ locks so that a dead worker is noticed in seconds.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { ChunkData } from '../lib/apps/cluster/jobs';
import { MAX_CHUNK_BYTES_LIMIT } from '../lib/apps/cluster/producer';
import { bigPhotoFolder, clusterSuite, expectSameTop1, localRecords, photoFolder, readRecords, spawnCli, startWorker, type WorkerProcess } from './helpers/cluster';
import { SAMPLE_DIR } from './helpers/images';

/** Dead workers are noticed within ~3 s; one image at a time so that a chunk of big photos lasts seconds. */
const FAST_STALLS = ['--lock-ms', '2000', '--stalled-ms', '1000'];
const SLOW = ['--concurrency', '1', '--decoders', '1', '--threads', '1'];

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms: ${cond}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cluster batch under faults (lib/apps/cluster)', function () {
  const c = clusterSuite('mobilenet-cluster-faults-');
  const { procs, produce, queueOf } = c;
  let big: string[];
  before(async () => {
    big = await bigPhotoFolder(path.join(c.root, 'big'), 16, 2);
  });
  const start = async (queueName: string, extra: string[]): Promise<WorkerProcess> => {
    const w = await startWorker(c.redis.url, queueName, extra);
    procs.push(w);
    return w;
  };

  it('SIGKILL of a worker mid-chunk: the stalled check hands the chunk to another worker; one record per file', async () => {
    const input = path.join(c.root, 'big', 'photos');
    const local = await localRecords(input, path.join(c.root, 'big-local.jsonl'), c.model);
    const a = await start('kill', [...FAST_STALLS, ...SLOW]);
    const out = path.join(c.root, 'kill.jsonl');
    const running = produce('kill', input, out);
    const [, chunk] = await a.waitFor(/chunk (chunk-\w+) started/);
    a.child.kill('SIGKILL');
    const b = await start('kill', [...FAST_STALLS, ...SLOW]);
    const s = await running;
    expect(b.log(), 'the killed chunk ran again on the other worker').to.include(`chunk ${chunk} started`);
    expect(s).to.include({ processed: 16, errors: 0 });
    expectSameTop1(readRecords(out), local);
  });

  it('a chunk that loses its worker more than --max-stalls times ends failed, its files as error records', async () => {
    const list = path.join(c.root, 'failing.txt');
    const normal = photoFolder(path.join(c.root, 'failing'), 8);
    fs.writeFileSync(list, [...big.slice(0, 8), ...normal].join('\n') + '\n');
    const flags = [...FAST_STALLS, ...SLOW, '--max-stalls', '1'];
    const out = path.join(c.root, 'failing.jsonl');
    const a = await start('failing', flags);
    const running = produce('failing', list, out);
    const [, chunk] = await a.waitFor(/chunk (chunk-\w+) started/);
    a.child.kill('SIGKILL');
    const b = await start('failing', flags);
    await b.waitFor(new RegExp(`chunk ${chunk} started`));
    b.child.kill('SIGKILL');
    await start('failing', flags);
    const s = await running;
    const got = readRecords(out);
    expect(got.size).to.equal(16);
    const failed = [...got.values()].filter((r) => r.error);
    expect(failed, 'the 8 files of the failed chunk').to.have.length(8);
    for (const r of failed) expect(r.error).to.include({ code: 'ERR_CHUNK_FAILED' }).and.to.have.property('message').that.matches(/stall/);
    expect(s.errors).to.equal(8);
  });

  it('producers: a second one is refused; a killed one is re-run; Ctrl-C leaves the chunks queued for the next run', async () => {
    const input = path.join(c.root, 'prod');
    photoFolder(input, 48);
    const local = await localRecords(input, path.join(c.root, 'prod-local.jsonl'), c.model);
    const out = path.join(c.root, 'prod.jsonl');
    const args = ['batch', input, '--out', out, '--queue', c.redis.url, '--queue-name', 'prod', '--chunk-size', '8'];
    const w = await start('prod', SLOW);
    const p1 = spawnCli(args);
    await waitUntil(async () => fs.existsSync(out) && fs.readFileSync(out, 'utf8').split('\n').length > 8);
    w.child.kill('SIGSTOP'); // p1 cannot finish (and release its lock) while p2 starts
    const p2 = spawnCli(args);
    expect((await p2.exited).code).to.equal(1);
    expect(p2.log()).to.match(/error \[ERR_QUEUE\]: another producer is running on the queue 'prod' \(pid \d+ on .*\); one producer per queue/);
    p1.child.kill('SIGKILL');
    await p1.exited;
    w.child.kill('SIGCONT');
    const p3 = spawnCli(args);
    expect((await p3.exited).code, p3.log()).to.equal(0);
    expect(p3.log()).to.match(/took over the queue 'prod' from producer pid \d+ on this machine/);
    expectSameTop1(readRecords(out), local);

    // Ctrl-C with no workers: the chunks stay in Redis, the lock is released, the next run adopts them.
    const out2 = path.join(c.root, 'ctrlc.jsonl');
    const args2 = ['batch', input, '--out', out2, '--queue', c.redis.url, '--queue-name', 'ctrlc', '--chunk-size', '8'];
    const p4 = spawnCli(args2);
    const q = queueOf('ctrlc');
    await waitUntil(async () => (await q.getJobCountByTypes('wait')) === 6);
    p4.child.kill('SIGINT');
    expect((await p4.exited).code).to.equal(130);
    expect(p4.log()).to.match(/6 chunk\(s\) stay queued/);
    const p5 = spawnCli(args2);
    await start('ctrlc', []);
    expect((await p5.exited).code, p5.log()).to.equal(0);
    expect(p5.log()).not.to.match(/took over/);
    // Nothing queued again: the 6 chunks are awaited (or, if already done, collected).
    expect(p5.log()).to.match(/48 images \(0 errors\), 0 already in .*, 0 chunk\(s\) queued/, p5.log());
    expectSameTop1(readRecords(out2), local);
  });

  it('--ship-bytes: workers classify bytes from Redis (the files are gone); chunks are cut at --max-chunk-bytes; a larger image is an error record', async () => {
    const dir = path.join(c.root, 'ship');
    const targets = path.join(dir, 'targets');
    photoFolder(targets, 24, 0, 100);
    await sharp(path.join(SAMPLE_DIR, fs.readdirSync(targets)[0])).resize(2000, 1500).jpeg({ quality: 95 }).toFile(path.join(targets, 'large.jpg'));
    const input = path.join(dir, 'photos');
    fs.mkdirSync(input);
    for (const f of fs.readdirSync(targets)) fs.symlinkSync(path.join(targets, f), path.join(input, f));
    const local = await localRecords(input, path.join(dir, 'local.jsonl'), c.model);
    const bound = 400_000; // above every sample photo (the largest is 224 kB)
    expect(fs.statSync(path.join(targets, 'large.jpg')).size).to.be.above(bound);
    const out = path.join(dir, 'out.jsonl');
    const ship = { shipBytes: true, maxChunkBytes: bound };
    const q = queueOf('ship');
    const files = async (): Promise<number> => (await q.getJobs(['wait'])).reduce((n, j) => n + (j.data as ChunkData).files.length, 0);
    const stop = new AbortController();
    const warnings: string[] = [];
    const first = produce('ship', input, out, { ...ship, signal: stop.signal, onWarning: (m) => warnings.push(m), onProgress: () => undefined });
    await waitUntil(async () => (await files()) === 24);
    stop.abort();
    expect((await first).errors).to.equal(1);
    expect(warnings.join('\n')).to.match(/large\.jpg is \d+ bytes, over --max-chunk-bytes 400000/);
    for (const j of await q.getJobs(['wait'])) {
      const bytes = (j.data as ChunkData).bytes!.reduce((n, b) => n + Buffer.from(b, 'base64').length, 0);
      expect(bytes).to.be.at.most(bound);
    }
    fs.renameSync(targets, targets + '.gone'); // every name in photos/ now dangles
    await start('ship', []);
    const s = await produce('ship', input, out, ship);
    expect(s).to.include({ processed: 24, errors: 0 });
    const got = readRecords(out);
    expect(got.get(path.join(input, 'large.jpg'))?.error?.code).to.equal('ERR_CHUNK_TOO_LARGE');
    local.delete(path.join(input, 'large.jpg'));
    got.delete(path.join(input, 'large.jpg'));
    expectSameTop1(got, local);
    fs.renameSync(targets + '.gone', targets);
    await produce('ship', input, out, { shipBytes: true, maxChunkBytes: MAX_CHUNK_BYTES_LIMIT + 1 }).then(
      () => expect.fail('a bound past the limit is refused'),
      (e: Error & { code?: string }) => expect(e.code).to.equal('ERR_INVALID_ARGUMENT'),
    );
  });
});
