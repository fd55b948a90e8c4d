/**
 * Server paths the load and fuzz tests do not reach: the multipart file limit (--max-files), a raw
 * body on /v1/embed, ERR_SHUTTING_DOWN for a request that arrives while the server drains, and
 * `serve --log` writing one JSON line per request.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import { expect } from 'chai';
import { load, type MobileNet } from '../lib';
import { createServer, type MobileNetServer } from '../lib/apps/server';
import { CLI } from './helpers/cli';
import { demoPath } from './helpers/images';

const PNG = () => fs.readFileSync(demoPath('coffee.png'));

function multipart(n: number): FormData {
  const form = new FormData();
  for (let i = 0; i < n; i++) form.append(`img${i}`, new Blob([PNG()], { type: 'image/png' }), `coffee${i}.png`);
  return form;
}

describe('server: limits, raw embed, draining, request log', function () {
  this.timeout(120_000);
  let model: MobileNet;
  before(async () => {
    model = await load();
  });
  after(() => model.dispose());

  describe('in process', () => {
    let server: MobileNetServer;
    let base: string;
    before(async () => {
      server = await createServer({ models: { default: model }, maxFiles: 2 });
      base = await server.listen({ port: 0, host: '127.0.0.1' });
    });
    after(async () => server.close());

    it('maxFiles: 2 files are classified, 3 get 413 ERR_BODY_TOO_LARGE naming the limit', async () => {
      const ok = await fetch(`${base}/v1/classify?topk=1`, { method: 'POST', body: multipart(2) });
      expect(ok.status).to.equal(200);
      expect(((await ok.json()) as { results: unknown[] }).results).to.have.length(2);
      // The 413 comes before the body is read; the client then drops its connection, as the server
      // holds it open, unread, until its request timeout otherwise (and close() waits for that).
      const encoded = new Response(multipart(3));
      const payload = Buffer.from(await encoded.arrayBuffer());
      const over = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${base}/v1/classify?topk=1`, { method: 'POST', agent: false, headers: { 'content-type': encoded.headers.get('content-type')!, 'content-length': payload.length } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode!, text });
          });
        });
        req.on('error', reject);
        req.end(payload);
      });
      const body = JSON.parse(over.text) as { code: string; message: string };
      expect(over.status, over.text).to.equal(413);
      expect(body.code).to.equal('ERR_BODY_TOO_LARGE');
      expect(body.message).to.include('at most 2 files');
    });

    it('/v1/embed with a raw image body gives the embedding of model.embed()', async () => {
      const r = await fetch(`${base}/v1/embed`, { method: 'POST', body: PNG(), headers: { 'content-type': 'image/png' } });
      expect(r.status).to.equal(200);
      const got = ((await r.json()) as { embedding: number[] }).embedding;
      const want = await model.embed(PNG());
      expect(got).to.have.length(want.length);
      got.forEach((v, i) => expect(v).to.be.closeTo(want[i], 1e-6));
    });
  });

  it('a request that arrives while the server drains gets 503 ERR_SHUTTING_DOWN; the one in flight finishes', async () => {
    // A 600 ms batching wait keeps the first request inside the executor while close() begins. The
    // second connection has sent half its headers (so close() does not drop it as idle) and finishes
    // the request after close() has started.
    const slow = await load({ maxWaitMs: 600 });
    const server = await createServer({ models: { default: slow } });
    try {
      const port = Number(new URL(await server.listen({ port: 0, host: '127.0.0.1' })).port);
      const inflight = fetch(`http://127.0.0.1:${port}/v1/classify?topk=1`, { method: 'POST', body: PNG(), headers: { 'content-type': 'image/png' } });
      const late = net.connect(port, '127.0.0.1');
      let raw = '';
      late.on('data', (c: Buffer) => (raw += c.toString('latin1')));
      const ended = new Promise((r) => late.on('close', r));
      await new Promise((r) => late.once('connect', r));
      late.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      while (((await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as { models: Array<{ inFlight: number }> }).models[0].inFlight < 1)
        await new Promise((r) => setTimeout(r, 5));
      const closing = server.close();
      late.write('\r\n');
      const first = await inflight;
      expect(first.status).to.equal(200);
      expect(((await first.json()) as { predictions: Array<{ className: string }> }).predictions[0].className).to.match(/espresso|cup/);
      await closing;
      await ended;
      expect(raw, raw).to.match(/^HTTP\/1\.1 503/);
      expect(raw).to.include('"code":"ERR_SHUTTING_DOWN"');
    } finally {
      slow.dispose();
    }
  });

  it('serve --log writes one JSON line per request on stdout', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        child.stderr!.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /listening on (http:\/\/[^ ]+)/.exec(err);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
      });
      expect((await fetch(`${base}/v1/classify`, { method: 'POST', body: PNG(), headers: { 'content-type': 'image/png' } })).status).to.equal(200);
      expect((await fetch(`${base}/nope`)).status).to.equal(404);
      child.kill('SIGTERM');
      await exited;
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { req?: { url: string }; res?: { statusCode: number } });
      expect(lines.some((l) => l.req?.url === '/v1/classify')).to.equal(true);
      expect(lines.filter((l) => l.res).map((l) => l.res!.statusCode)).to.include.members([200, 404]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
