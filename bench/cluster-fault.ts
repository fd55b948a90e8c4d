/**
 * `npm run cluster:fault [-- --seed N]`: the cluster batch under faults, end to end. 2000 images
 * (the 200 sample photos under 10 names each), 3 workers; during the run, at random points of its
 * progress: 5 workers SIGKILLed (a new one started each time), redis-server (append-only file on)
 * restarted once, the producer SIGKILLed once and run again. Then --out must hold exactly one
 * record per file, each with the local batch's top-1. Prints a JSON summary; exit 1 on a mismatch.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readRecords, SAMPLES, spawnCli, startWorker, type WorkerProcess } from '../test/helpers/cluster';
import { SAMPLE_DIR, rng } from '../test/helpers/images';
import { startRedis } from '../test/helpers/redis';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (file: string): number => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 1 : 0);
const WORKER = ['--lock-ms', '10000', '--stalled-ms', '3000', '--threads', '1', '--concurrency', '1'];

async function main(): Promise<void> {
  const seed = arg('seed', Date.now() % 100000);
  const copies = arg('copies', 10);
  const rand = rng(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-cluster-fault-'));
  const names: string[] = [];
  for (let k = 0; k < copies; k++) {
    fs.mkdirSync(path.join(dir, 'photos', `set${k}`), { recursive: true });
    for (const f of SAMPLES()) {
      const p = path.join(dir, 'photos', `set${k}`, `copy${k}_${f}`);
      fs.symlinkSync(path.join(SAMPLE_DIR, f), p);
      names.push(p);
    }
  }
  const input = path.join(dir, 'photos');
  const total = names.length;
  const localOut = path.join(dir, 'local.jsonl');
  const t0 = Date.now();
  const local = spawnCli(['batch', input, '--out', localOut, '--no-progress']);
  if ((await local.exited).code !== 0) throw new Error(`local batch failed: ${local.log()}`);
  const localSeconds = (Date.now() - t0) / 1000;

  const redis = await startRedis({ appendOnly: true });
  const out = path.join(dir, 'cluster.jsonl');
  const producerArgs = ['batch', input, '--out', out, '--queue', redis.url, '--chunk-size', '32', '--no-progress'];
  const workers: WorkerProcess[] = [];
  const everyWorker: WorkerProcess[] = [];
  const events: Array<{ at: number; what: string; records: number }> = [];
  const note = (what: string): void => {
    events.push({ at: (Date.now() - t1) / 1000, what, records: lines(out) });
    process.stderr.write(`cluster:fault ${events[events.length - 1].at.toFixed(1)} s, ${lines(out)} records: ${what}\n`);
  };
  const t1 = Date.now();
  try {
    for (let i = 0; i < 3; i++) workers.push(await startWorker(redis.url, 'mobilenet', WORKER));
    everyWorker.push(...workers);
    let producer = spawnCli(producerArgs);
    const producerLogs: string[] = [];
    // The faults, each at a random fraction of the records, in order of that fraction.
    const plan = [
      ...Array.from({ length: 5 }, () => ({ kind: 'kill-worker', at: 0.05 + 0.8 * rand() })),
      { kind: 'restart-redis', at: 0.1 + 0.7 * rand() },
      { kind: 'kill-producer', at: 0.1 + 0.7 * rand() },
    ].sort((a, b) => a.at - b.at);
    for (const step of plan) {
      while (lines(out) < step.at * total) {
        if (producer.child.exitCode !== null) throw new Error(`the producer ended before the fault plan did: ${producer.log()}`);
        await sleep(25);
      }
      if (step.kind === 'kill-worker') {
        const victim = workers.splice(Math.floor(rand() * workers.length), 1)[0];
        victim.child.kill('SIGKILL');
        await victim.exited;
        note(`SIGKILL worker pid ${victim.child.pid}`);
        workers.push(await startWorker(redis.url, 'mobilenet', WORKER));
        everyWorker.push(workers[workers.length - 1]);
        note(`started worker pid ${workers[workers.length - 1].child.pid}`);
      } else if (step.kind === 'restart-redis') {
        note('stopping redis-server (SIGTERM; append-only file on)');
        await redis.restart(1500);
        note('redis-server started again');
      } else {
        producer.child.kill('SIGKILL');
        await producer.exited;
        producerLogs.push(producer.log());
        note('SIGKILL producer');
        producer = spawnCli(producerArgs);
        note('producer run again');
      }
    }
    const end = await producer.exited;
    producerLogs.push(producer.log());
    note(`producer exited ${end.code}`);
    const seconds = (Date.now() - t1) / 1000;
    const got = readRecords(out);
    const want = readRecords(localOut);
    const mismatches = [...want].filter(([file, r]) => got.get(file)?.top?.[0]?.classIndex !== r.top?.[0]?.classIndex).map(([f]) => f);
    const starts = new Map<string, number>();
    for (const w of everyWorker) for (const m of w.log().matchAll(/chunk (chunk-\w+) started/g)) starts.set(m[1], (starts.get(m[1]) ?? 0) + 1);
    const summary = {
      seed, cpu: os.cpus()[0]?.model, images: total, records: got.size, lines: lines(out), errorRecords: [...got.values()].filter((r) => r.error).length,
      top1Mismatches: mismatches.length, missing: [...want.keys()].filter((f) => !got.has(f)).length, producerExit: end.code,
      chunksStartedTwiceOrMore: [...starts.values()].filter((n) => n > 1).length, seconds, localBatchSeconds: localSeconds, events, lastProducerLog: producerLogs[producerLogs.length - 1].trim().split('\n').slice(-3),
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    const ok = end.code === 0 && got.size === total && summary.lines === total && mismatches.length === 0 && summary.errorRecords === 0;
    process.stderr.write(ok ? 'cluster:fault: PASS: one record per file, every top-1 equal to the local batch\n' : 'cluster:fault: FAIL\n');
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`cluster:fault: ${(e as Error).stack}\n`);
  process.exit(1);
});
