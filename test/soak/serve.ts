/**
 * Soak: `mobilenet serve` under 64 clients for 60 s of mixed good and hostile bodies. Not part of
 * `npm test`; run `npm run soak:serve` (options: --clients N --seconds S --idle S).
 * Prints req/s, p50/p99 of good images, non-200s for good images, the status of every hostile
 * kind, and the server's RSS at start, at the end of the load, and after an idle pause.
 * Exits 1 when a good image got a non-200, anything got a 500, or RSS after idle is more than
 * 100 MB above the start.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { SVG_BOMB } from '../helpers/hostile';

const REPO = path.resolve(__dirname, '..', '..', '..');
const DATA_DIR = path.resolve(process.env.MOBILENET_DATA ?? path.join(REPO, '..', 'shared', 'data'));
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

interface Body {
  kind: string;
  good: boolean;
  data: Buffer;
  type: string;
}

async function bodies(): Promise<Body[]> {
  const sampleDir = path.join(DATA_DIR, 'images', 'sample');
  const samples = fs.readdirSync(sampleDir).filter((f) => f.endsWith('.jpg')).sort().slice(0, 40);
  const good = samples.map((f) => ({ kind: 'good', good: true, data: fs.readFileSync(path.join(sampleDir, f)), type: 'image/jpeg' }));
  const jpeg = good[0].data;
  let seed = 7;
  const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255));
  const bomb = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
  const hostile: Body[] = [
    { kind: 'svg-bomb', good: false, data: SVG_BOMB, type: 'image/svg+xml' },
    { kind: 'svg-as-png', good: false, data: SVG_BOMB, type: 'image/png' },
    { kind: 'random-bytes', good: false, data: random(4000), type: 'image/jpeg' },
    { kind: 'truncated-jpeg', good: false, data: jpeg.subarray(0, 700), type: 'image/jpeg' },
    { kind: 'pixel-bomb-36Mpx', good: false, data: bomb, type: 'image/png' },
    { kind: 'over-body-limit', good: false, data: Buffer.concat([jpeg, random(11 * 2 ** 20)]), type: 'image/jpeg' },
    { kind: 'text', good: false, data: Buffer.from('hello'), type: 'text/plain' },
    { kind: 'pdf', good: false, data: Buffer.from('%PDF-1.4\n1 0 obj\n'), type: 'application/octet-stream' },
  ];
  // SOAK_SKIP=kind,kind leaves hostile kinds out, to see what a figure comes from.
  const skip = new Set((process.env.SOAK_SKIP ?? '').split(','));
  return [...good, ...hostile.filter((h) => !skip.has(h.kind))];
}

function post(agent: http.Agent, base: string, body: Body): Promise<{ status: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = http.request(new URL('/v1/classify?topk=1', base), { method: 'POST', agent, headers: { 'content-type': body.type, 'content-length': String(body.data.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', () => resolve({ status: -1, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end(body.data);
  });
}

async function main(): Promise<void> {
  const clients = arg('clients', 64);
  const seconds = arg('seconds', 60);
  const idle = arg('idle', 30);
  const all = await bodies();
  const good = all.filter((b) => b.good);
  const hostile = all.filter((b) => !b.good);

  const server = spawn(process.execPath, [path.join(REPO, 'dist', 'lib', 'apps', 'cli', 'main.js'), 'serve', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const base = await new Promise<string>((resolve, reject) => {
    let err = '';
    server.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  const pid = server.pid as number;
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    for (const b of good.slice(0, 8)) await post(agent, base, b); // warm-up
    const rssStart = rssMb(pid);
    const goodMs: number[] = [];
    const goodBad = new Map<number, number>();
    const hostileStatus = new Map<string, Map<number, number>>();
    let total = 0;
    let count500 = 0;
    let peak = rssStart;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 500);
    const end = Date.now() + seconds * 1000;
    const t0 = Date.now();
    let n = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        const i = n++;
        // One request in four is hostile.
        const body = i % 4 === 3 ? hostile[(i >> 2) % hostile.length] : good[i % good.length];
        const r = await post(agent, base, body);
        total++;
        if (r.status >= 500 && r.status !== 503) count500++;
        if (body.good) {
          goodMs.push(r.ms);
          if (r.status !== 200) goodBad.set(r.status, (goodBad.get(r.status) ?? 0) + 1);
        } else {
          const m = hostileStatus.get(body.kind) ?? new Map<number, number>();
          m.set(r.status, (m.get(r.status) ?? 0) + 1);
          hostileStatus.set(body.kind, m);
        }
      }
    }));
    const elapsed = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const rssEnd = rssMb(pid);
    agent.destroy();
    await new Promise((r) => setTimeout(r, idle * 1000));
    const rssIdle = rssMb(pid);
    goodMs.sort((a, b) => a - b);
    const q = (p: number): number => goodMs[Math.min(goodMs.length - 1, Math.floor(p * goodMs.length))];
    const goodNon200 = [...goodBad.values()].reduce((a, b) => a + b, 0);
    console.log(`soak:serve — ${os.cpus()[0]?.model} × ${os.cpus().length}, ${clients} clients, ${elapsed.toFixed(0)} s, 1 in 4 requests hostile, bundled α=0.25/224`);
    console.log(`requests: ${total} (${(total / elapsed).toFixed(1)} req/s); good images: ${goodMs.length}, p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, non-200 ${goodNon200}${goodNon200 ? ' ' + JSON.stringify(Object.fromEntries(goodBad)) : ''}`);
    for (const [kind, m] of hostileStatus) console.log(`hostile ${kind}: ${JSON.stringify(Object.fromEntries(m))}`);
    console.log(`server RSS: start ${rssStart.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, end ${rssEnd.toFixed(0)} MB, after ${idle} s idle ${rssIdle.toFixed(0)} MB`);
    const ok = goodNon200 === 0 && count500 === 0 && rssIdle - rssStart <= 100;
    if (!ok) console.log(`FAIL: good non-200 ${goodNon200}, 5xx (not 503) ${count500}, RSS after idle − start ${(rssIdle - rssStart).toFixed(0)} MB (limit 100)`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    server.kill('SIGTERM');
  }
}

void main();
