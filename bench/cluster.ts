/**
 * `npm run bench:cluster [-- --rounds 3 --chunk-size 16 --repeat 1]`: img/s of the cluster batch against the
 * local `mobilenet batch` on the 200 sample photos, on this machine: 1 worker × 2 threads and
 * 2 workers × 1 thread, each behind one producer and one redis-server. Alternating rounds; each
 * figure is the batch command's own img/s (model loading and worker start-up excluded on both
 * sides); vsLocal is the median of the per-round ratios to the local batch of the same round. Also counts Redis commands and bytes per image. Writes bench/results/cluster.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import IORedis from 'ioredis';
import { spawnCli, startWorker, type WorkerProcess } from '../test/helpers/cluster';
import { REPO_ROOT, SAMPLE_DIR } from '../test/helpers/images';
import { startRedis, type RedisServer } from '../test/helpers/redis';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

interface Config {
  name: string;
  /** Threads of each worker; none: the local batch. */
  workers?: number[];
  chunkSize?: number;
}

interface Run {
  rate: number;
  wall: number;
  /** CPU of every process of the run (batch command, workers, redis-server) per image; the local batch's includes its start-up and model load. */
  cpuMsPerImage: number;
  perImage?: RedisCounters;
}

interface RedisCounters {
  commands: number;
  netIn: number;
  netOut: number;
}

async function counters(client: IORedis): Promise<RedisCounters> {
  const info = await client.info('stats');
  const num = (k: string): number => Number(new RegExp(`${k}:(\\d+)`).exec(info)?.[1] ?? NaN);
  return { commands: num('total_commands_processed'), netIn: num('total_net_input_bytes'), netOut: num('total_net_output_bytes') };
}

/** CPU seconds (user + system) a live process has used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ ticks (100 on Linux)
  } catch {
    return 0;
  }
}

async function runOnce(c: Config, redis: RedisServer, client: IORedis, dir: string, round: number, input: Input): Promise<Run> {
  const out = path.join(dir, `${c.name.replace(/\W+/g, '_')}-${round}.jsonl`);
  const args = ['batch', input.dir, '--out', out, '--no-progress'];
  const workers: WorkerProcess[] = [];
  const queueName = `bench${round}_${c.name.replace(/\W+/g, '')}`;
  if (c.workers) {
    for (const threads of c.workers) workers.push(await startWorker(redis.url, queueName, ['--threads', String(threads)]));
    args.push('--queue', redis.url, '--queue-name', queueName, '--chunk-size', String(c.chunkSize));
  }
  const before = await counters(client);
  const steady = [...workers.map((w) => w.child.pid), redis.pid()];
  const cpu0 = steady.reduce((a: number, pid) => a + cpuSeconds(pid), 0);
  const t0 = process.hrtime.bigint();
  const p = spawnCli(args);
  // The batch process's CPU, sampled until it exits (its last 20 ms are missed).
  let batchCpu = 0;
  const sampler = setInterval(() => (batchCpu = Math.max(batchCpu, cpuSeconds(p.child.pid))), 20);
  const end = await p.exited;
  clearInterval(sampler);
  const cpu = batchCpu + steady.reduce((a: number, pid) => a + cpuSeconds(pid), 0) - cpu0;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = await counters(client);
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  const m = /done: (\d+) images .* ([\d.]+) img\/s/.exec(p.log());
  if (end.code !== 0 || !m || Number(m[1]) !== input.images) throw new Error(`${c.name}: ${p.log()}`);
  const n = Number(m[1]);
  const perImage = c.workers ? { commands: (after.commands - before.commands) / n, netIn: (after.netIn - before.netIn) / n, netOut: (after.netOut - before.netOut) / n } : undefined;
  return { rate: Number(m[2]), wall, cpuMsPerImage: (cpu * 1000) / n, perImage };
}

interface Input {
  dir: string;
  images: number;
}

/** The 200 sample photos, or `repeat` links to each under other names (a longer run: fixed costs weigh less). */
function sampleInput(repeat: number, scratch: string): Input {
  if (repeat === 1) return { dir: SAMPLE_DIR, images: 200 };
  const dir = path.join(scratch, 'input');
  fs.mkdirSync(dir);
  const photos = fs.readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.jpg'));
  for (let k = 0; k < repeat; k++) for (const f of photos) fs.symlinkSync(path.join(SAMPLE_DIR, f), path.join(dir, `r${k}_${f}`));
  return { dir, images: photos.length * repeat };
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 3);
  const chunk = arg('chunk-size', 16);
  const repeat = arg('repeat', 1);
  const configs: Config[] = [
    { name: 'local batch' },
    { name: `1 worker × 2 threads, chunk ${chunk}`, workers: [2], chunkSize: chunk },
    { name: `2 workers × 1 thread, chunk ${chunk}`, workers: [1, 1], chunkSize: chunk },
    // A second chunk size, unless it is the one asked for (two configurations would share a name).
    ...(chunk === 64 ? [] : [{ name: '1 worker × 2 threads, chunk 64', workers: [2], chunkSize: 64 }]),
  ];
  const redis = await startRedis();
  const client = new IORedis(redis.port, '127.0.0.1');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-bench-cluster-'));
  const results = new Map<string, Run[]>();
  const input = sampleInput(repeat, dir);
  try {
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so that no configuration always runs first (or last).
      const order = configs.map((_, i) => configs[(i + r) % configs.length]);
      for (const c of order) {
        const res = await runOnce(c, redis, client, dir, r, input);
        process.stderr.write(`round ${r + 1}/${rounds}: ${c.name}: ${res.rate.toFixed(1)} img/s, ${res.cpuMsPerImage.toFixed(2)} CPU ms/image\n`);
        results.set(c.name, [...(results.get(c.name) ?? []), res]);
      }
    }
  } finally {
    client.disconnect();
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const local = results.get('local batch')!;
  const rows = configs.map((c) => {
    const rs = results.get(c.name)!;
    const rate = median(rs.map((x) => x.rate));
    const per = rs[rs.length - 1].perImage;
    return { config: c.name, rates: rs.map((x) => Number(x.rate.toFixed(1))), medianImgPerS: Number(rate.toFixed(1)), vsLocal: Number(median(rs.map((x, i) => x.rate / local[i].rate)).toFixed(3)), cpuMsPerImage: Number(median(rs.map((x) => x.cpuMsPerImage)).toFixed(2)), redisPerImage: per && { commands: Number(per.commands.toFixed(2)), bytesIn: Math.round(per.netIn), bytesOut: Math.round(per.netOut) } };
  });
  const report = { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, images: input.images, rounds, command: `npm run bench:cluster -- --rounds ${rounds} --chunk-size ${chunk}${repeat > 1 ? ` --repeat ${repeat}` : ''}`, rows };
  fs.writeFileSync(path.join(REPO_ROOT, 'bench', 'results', repeat > 1 ? `cluster-x${repeat}.json` : 'cluster.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench:cluster: ${(e as Error).stack}\n`);
  process.exit(1);
});
