/** `mobilenet serve` as a child process: SIGTERM lets in-flight requests finish, refuses new work, exits 0. */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DEMO_DIR, REPO_ROOT } from './helpers/images';

const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'apps', 'cli', 'main.js');

function startServe(args: string[]): Promise<{ child: ChildProcess; base: string; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/[^ ]+)/.exec(err);
      if (m) resolve({ child, base: m[1], stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  });
}

const exited = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

describe('server: graceful shutdown of `mobilenet serve`', function () {
  this.timeout(120_000);

  it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
    // A 1 s batching wait keeps the requests inside the executor when SIGTERM arrives.
    const { child, base, stderr } = await startServe(['--max-wait-ms', '1000', '--threads', '1']);
    const done = exited(child);
    try {
      const image = fs.readFileSync(path.join(DEMO_DIR, 'coffee.png'));
      const n = 8;
      const inflight = Array.from({ length: n }, () =>
        fetch(`${base}/v1/classify?topk=1`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any })), // eslint-disable-line @typescript-eslint/no-explicit-any
      );
      // Wait until the server holds all of them (GET /v1/models reports in-flight counts).
      for (let tries = 0; ; tries++) {
        const models = (await (await fetch(`${base}/v1/models`)).json()) as { models: Array<{ inFlight: number }> };
        if (models.models[0].inFlight === n) break;
        if (tries > 500) throw new Error(`the server never held ${n} requests at once`);
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGTERM');
      const replies = await Promise.all(inflight);
      for (const r of replies) {
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        expect(r.body.predictions[0].className).to.equal('espresso');
      }
      const { code, signal } = await done;
      expect(signal, stderr()).to.equal(null);
      expect(code, stderr()).to.equal(0);
      expect(stderr()).to.match(/SIGTERM, finishing in-flight requests[\s\S]*stopped/);
      // And it no longer accepts connections.
      let refused = false;
      await fetch(`${base}/healthz`).catch(() => (refused = true));
      expect(refused).to.equal(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('exits 0 on SIGINT when idle, serving several models', async () => {
    const weights = path.join(REPO_ROOT, 'weights', 'mobilenet_v1_0.25_224', 'model.json');
    const { child, base, stderr } = await startServe(['--model', `small=${weights}`, '--model', 'other=bundled']);
    const done = exited(child);
    try {
      const models = (await (await fetch(`${base}/v1/models`)).json()) as { default: string; models: Array<{ name: string }> };
      expect(models.default).to.equal('small');
      expect(models.models.map((m) => m.name)).to.deep.equal(['small', 'other']);
      const r = await fetch(`${base}/v1/classify?model=other&topk=1`, { method: 'POST', body: fs.readFileSync(path.join(DEMO_DIR, 'coffee.png')), headers: { 'content-type': 'image/png' } });
      expect(r.status).to.equal(200);
      child.kill('SIGINT');
      const { code } = await done;
      expect(code, stderr()).to.equal(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a bad --model with a clear error and exit code 1', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--model', 'x=/nonexistent/model.json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const { code } = await exited(child);
    expect(code).to.equal(1);
    expect(err).to.match(/error \[ERR_WEIGHTS\]/);
  });
});
