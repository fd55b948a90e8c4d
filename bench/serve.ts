/**
 * `npm run bench:serve`: `mobilenet serve` against bench/peer-server.ts (node:http + sharp +
 * onnxruntime-node, one session.run per request), same weights (α=0.75/224; the peer runs our ONNX
 * export), same photos. 64 closed-loop clients (keep-alive) send the sample photos as image/jpeg;
 * each round starts a fresh server, warms it with 64 requests, then times `--requests` requests.
 * Servers alternate round by round. Reports req/s (200s only), p50 and p99 latency, 503s.
 *
 *   npm run bench:serve -- [--rounds 3] [--requests 600] [--clients 64] [--threads 2]
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { arg, median, preparePipelineData, ROOT, SAMPLE, WEIGHTS } from './pipeline-data';

const CLI = path.join(ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');
const PEER = path.join(ROOT, 'dist', 'bench', 'peer-server.js');

const quantile = (v: number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Starts a server process and resolves with its base URL once it prints "listening on <url>". */
function start(argv: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(text);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${text.slice(-500)}`)));
  });
}

function post(agent: http.Agent, url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'image/jpeg', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Load {
  reqPerSec: number;
  p50: number;
  p99: number;
  ok: number;
  shed: number;
  other: number;
}

async function drive(url: string, bodies: Buffer[], total: number, clients: number): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let shed = 0;
  let other = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < total) {
      const body = bodies[next++ % bodies.length];
      const s = performance.now();
      const status = await post(agent, url, body).catch(() => 0);
      if (status === 200) {
        ok++;
        latencies.push(performance.now() - s);
      } else if (status === 503) shed++;
      else other++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { reqPerSec: ok / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), ok, shed, other };
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds') ?? 3);
  const total = Number(arg('requests') ?? 600);
  const clients = Number(arg('clients') ?? 64);
  const threads = Number(arg('threads') ?? os.availableParallelism());
  const d = await preparePipelineData(60, (m) => console.log(m));
  const bodies = fs.readdirSync(SAMPLE).filter((f) => f.endsWith('.jpg')).sort().map((f) => fs.readFileSync(path.join(SAMPLE, f)));
  const sides = {
    ours: [CLI, 'serve', '--port', '0', '--model', `default=${path.join(WEIGHTS, 'model.json')}`, '--threads', String(threads)],
    peer: [PEER, d.onnx, String(threads)],
  };
  const header = `${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} logical CPUs, load ${os.loadavg()[0].toFixed(1)} · ${threads} threads · ${clients} clients · ${total} requests per round`;
  console.log(header);
  const results: Record<'ours' | 'peer', Load[]> = { ours: [], peer: [] };
  for (let r = 1; r <= rounds; r++) {
    for (const side of ['ours', 'peer'] as const) {
      const { child, url } = await start(sides[side]);
      const endpoint = side === 'ours' ? `${url}/v1/classify` : url;
      try {
        await drive(endpoint, bodies, clients, clients); // warm-up: first passes, JIT, page cache
        const load = await drive(endpoint, bodies, total, clients);
        results[side].push(load);
        console.log(`  round ${r} ${side}: ${load.reqPerSec.toFixed(1)} req/s, p50 ${load.p50.toFixed(0)} ms, p99 ${load.p99.toFixed(0)} ms, ${load.ok} ok, ${load.shed} × 503, ${load.other} other`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((res) => child.once('exit', res));
      }
    }
  }
  const ratio = median(results.ours.map((o, i) => o.reqPerSec / results.peer[i].reqPerSec));
  const row = (side: 'ours' | 'peer') => {
    const x = results[side];
    return `| ${side} | ${median(x.map((l) => l.reqPerSec)).toFixed(1)} | ${median(x.map((l) => l.p50)).toFixed(0)} | ${median(x.map((l) => l.p99)).toFixed(0)} | ${x.reduce((a, l) => a + l.shed, 0)} |`;
  };
  const lines = [header, '', `Medians of ${rounds} alternating rounds (a fresh server each, 64 warm-up requests not counted).`, '',
    '| server | req/s | p50 ms | p99 ms | 503s |', '|---|---|---|---|---|', row('ours'), row('peer'), '',
    `ours / peer req/s: ${ratio.toFixed(2)} (median of per-round ratios)`, '',
    `Command: npm run bench:serve -- --rounds ${rounds} --requests ${total} --clients ${clients} --threads ${threads}`];
  console.log(lines.slice(2).join('\n'));
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'serve.md'), `# bench:serve\n\n${lines.join('\n')}\n`);
}

main().catch((e) => {
  console.error((e as Error).stack ?? e);
  process.exit(1);
});
