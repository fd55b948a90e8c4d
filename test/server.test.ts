/**
 * The HTTP service in-process on 127.0.0.1, port 0: correctness under concurrency (every answer
 * equals a direct model.classify), the queue limit, fuzzed bodies (4xx JSON only, never 5xx), timeouts.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import sharp from 'sharp';
import { load, MobileNet } from '../lib';
import type { ClassScore } from '../lib';
import { createServer, type MobileNetServer } from '../lib/apps/server';
import { DEMO_DIR, rng } from './helpers/images';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function request(base: string, agent: http.Agent | undefined, method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(url, base), { method, agent, headers: body ? { 'content-length': String(body.length), ...headers } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A multipart/form-data body built by hand, so tests can also build broken ones. */
function multipartBody(files: Array<{ field: string; filename: string; type: string; data: Buffer }>, boundary = 'mobilenet-test-boundary'): { body: Buffer; type: string } {
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\nContent-Type: ${f.type}\r\n\r\n`));
    parts.push(f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

/** Sends raw bytes on a socket and returns whatever comes back (for requests http.request refuses to make). */
function rawExchange(port: number, payload: Buffer | string, endWrite = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.write(payload, () => {
      if (endWrite) socket.end();
    });
  });
}

function expectErrorReply(r: Reply, what: string): void {
  expect(r.status, `${what}: status (body ${r.text.slice(0, 200)})`).to.be.within(400, 499);
  expect(r.json, `${what}: JSON body, got ${r.text.slice(0, 200)}`).to.be.an('object');
  expect(r.json.code, what).to.be.a('string').and.match(/^ERR_/);
  expect(r.json.message, what).to.be.a('string').and.not.equal('');
}

/** Same classes in the same order, same probabilities up to float rounding of a different batch size. */
function expectSamePredictions(got: ClassScore[], want: ClassScore[], what: string): void {
  expect(got, what).to.be.an('array').with.length(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(got[i].probability, `${what} #${i}`).to.be.closeTo(want[i].probability, 1e-5);
    // Ranks may only swap between near-ties.
    if (got[i].classIndex !== want[i].classIndex) {
      const other = want.find((w) => w.classIndex === got[i].classIndex);
      expect(other, `${what} #${i}: class ${got[i].classIndex} not in the expected top-k`).to.not.equal(undefined);
      expect(Math.abs(other!.probability - want[i].probability), `${what} #${i}`).to.be.below(1e-5);
    } else {
      expect(got[i].className, what).to.equal(want[i].className);
    }
  }
}

/** The 4 demo photos and 6 JPEG crops of them at other sizes and aspect ratios, made here so that
 *  the suite needs no data folder. */
interface TestImage {
  name: string;
  type: string;
  data: Buffer;
}
async function makeImages(): Promise<TestImage[]> {
  const demos = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg'].map((f) => path.join(DEMO_DIR, f));
  const out: TestImage[] = demos.map((f) => ({ name: path.basename(f), type: f.endsWith('.png') ? 'image/png' : 'image/jpeg', data: fs.readFileSync(f) }));
  const crops: Array<[number, number, number]> = [[0, 300, 200], [1, 180, 320], [2, 400, 400], [3, 500, 333], [0, 97, 151], [2, 640, 480]];
  for (const [k, w, h] of crops) {
    const data = await sharp(demos[k]).resize(w, h, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer();
    out.push({ name: `crop-${k}-${w}x${h}.jpg`, type: 'image/jpeg', data });
  }
  return out;
}

describe('server: mobilenet serve over HTTP', function () {
  this.timeout(240_000);
  let model: MobileNet;
  let testImages: TestImage[] = [];
  let images: Buffer[] = [];

  before(async () => {
    model = await load();
    testImages = await makeImages();
    images = testImages.map((t) => t.data);
  });
  after(() => model.dispose());

  describe('under load', () => {
    let server: MobileNetServer;
    let base: string;
    before(async () => {
      // Correctness under load, not shedding: the time bound is set past any wait a loaded CI machine sees.
      server = await createServer({ models: { default: model }, maxQueueMs: 60_000 });
      base = await server.listen({ port: 0, host: '127.0.0.1' });
    });
    after(async () => server.close());

    it('answers 500 requests from 64 concurrent clients, each equal to a direct classify of its image, none dropped', async () => {
      const variants = [
        { query: '', preprocess: 'tfjs' as const, topk: 5 },
        { query: '?topk=3&preprocess=center-crop', preprocess: 'center-crop' as const, topk: 3 },
      ];
      const expected = new Map<string, ClassScore[]>();
      for (let i = 0; i < images.length; i++)
        for (let v = 0; v < variants.length; v++) expected.set(`${i}/${v}`, await model.classify(images[i], { topk: variants[v].topk, preprocess: variants[v].preprocess }));
      const before = model.stats();

      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
      const total = 500;
      let next = 0;
      const outcomes: Array<{ i: number; v: number; reply: Reply } | { error: unknown }> = [];
      const client = async (): Promise<void> => {
        while (next < total) {
          const n = next++;
          const i = n % images.length;
          const v = n % 7 === 0 ? 1 : 0;
          try {
            const type = testImages[i].type;
            const reply = await request(base, agent, 'POST', `/v1/classify${variants[v].query}`, images[i], { 'content-type': type });
            outcomes.push({ i, v, reply });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      };
      await Promise.all(Array.from({ length: 64 }, client));
      agent.destroy();

      expect(outcomes).to.have.length(total);
      for (const o of outcomes) {
        if ('error' in o) throw new Error(`a request failed at the socket level: ${String(o.error)}`);
        expect(o.reply.status, o.reply.text).to.equal(200);
        expect(o.reply.json.model).to.equal('default');
        expectSamePredictions(o.reply.json.predictions, expected.get(`${o.i}/${o.v}`)!, `image ${testImages[o.i].name} variant ${o.v}`);
      }
      const after = model.stats();
      const images_ = (after.images ?? 0) - (before.images ?? 0);
      const batches = (after.batches ?? 0) - (before.batches ?? 0);
      expect(images_).to.equal(total);
      // Concurrent requests share forward passes: that is the executor's batching, seen from outside.
      expect(batches, `${images_} images in ${batches} forward passes`).to.be.below(images_);

      const metrics = (await request(base, undefined, 'GET', '/metrics')).text;
      const okCount = /mobilenet_http_requests_total\{route="\/v1\/classify",method="POST",status="200"\} (\d+)/.exec(metrics);
      expect(Number(okCount?.[1])).to.equal(total);
      expect(metrics).to.match(/mobilenet_executor_batches_total\{model="default"\} \d+/);
      expect(metrics).to.match(/mobilenet_executor_queue_depth\{model="default"\} \d+/);
      expect(metrics).to.match(/mobilenet_http_request_duration_seconds_count\{route="\/v1\/classify"\} 50\d/);
    });

    it('classifies and embeds several images sent as multipart/form-data', async () => {
      const files = [0, 1, 3].map((i) => ({ field: `img${i}`, filename: testImages[i].name, type: 'application/octet-stream', data: images[i] }));
      const { body, type } = multipartBody(files);
      const r = await request(base, undefined, 'POST', '/v1/classify?topk=2', body, { 'content-type': type });
      expect(r.status, r.text).to.equal(200);
      expect(r.json.results).to.have.length(3);
      const embedded = await request(base, undefined, 'POST', '/v1/embed', body, { 'content-type': type });
      expect(embedded.status, embedded.text).to.equal(200);
      for (let k = 0; k < files.length; k++) {
        const i = [0, 1, 3][k];
        expect(r.json.results[k].filename).to.equal(files[k].filename);
        expect(r.json.results[k].field).to.equal(files[k].field);
        expectSamePredictions(r.json.results[k].predictions, await model.classify(images[i], { topk: 2 }), files[k].filename);
        const want = await model.embed(images[i]);
        const got: number[] = embedded.json.results[k].embedding;
        expect(got).to.have.length(model.featureWidth);
        for (let j = 0; j < want.length; j++) expect(got[j]).to.be.closeTo(want[j], 1e-4 * (1 + Math.abs(want[j])));
      }
    });

    it('describes its models and reports health', async () => {
      const m = await request(base, undefined, 'GET', '/v1/models');
      expect(m.status).to.equal(200);
      expect(m.json.default).to.equal('default');
      const d = m.json.models[0];
      expect(d).to.include({ name: 'default', alpha: model.arch.alpha, resolution: model.arch.resolution, classes: model.arch.classes, featureWidth: model.featureWidth });
      expect(d.cost).to.deep.equal(model.cost());
      const h = await request(base, undefined, 'GET', '/healthz');
      expect(h.status).to.equal(200);
      expect(h.json.status).to.equal('ok');
    });
  });

  describe('limits', () => {
    it('refuses a burst over --max-queue with 503 ERR_QUEUE_FULL and stays healthy', async () => {
      // The executor waits up to 300 ms to fill a batch, so the first requests stay in flight while the burst arrives.
      const server = await createServer({ models: { slow: { maxWaitMs: 300, threads: 1 } }, maxQueue: 2 });
      try {
        const base = await server.listen({ port: 0, host: '127.0.0.1' });
        const agent = new http.Agent({ keepAlive: true, maxSockets: 40 });
        const replies = await Promise.all(
          Array.from({ length: 40 }, (_, n) => request(base, agent, 'POST', '/v1/classify', images[n % images.length], { 'content-type': 'application/octet-stream' })),
        );
        agent.destroy();
        const statuses = replies.map((r) => r.status);
        const full = replies.filter((r) => r.status === 503);
        expect(full.length, `statuses ${statuses.join(',')}`).to.be.greaterThan(0);
        expect(statuses.filter((s) => s === 200).length).to.be.greaterThan(0);
        expect(statuses.every((s) => s === 200 || s === 503), statuses.join(',')).to.equal(true);
        for (const r of full) {
          expect(r.json.code).to.equal('ERR_QUEUE_FULL');
          expect(r.headers['retry-after']).to.equal('1');
        }
        const h = await request(base, undefined, 'GET', '/healthz');
        expect(h.status).to.equal(200);
        const again = await request(base, undefined, 'POST', '/v1/classify', images[2], { 'content-type': 'image/png' });
        expect(again.status, again.text).to.equal(200);
      } finally {
        await server.close();
      }
    });

    it('answers 503 ERR_TIMEOUT when a request takes longer than --timeout-ms, and keeps serving', async () => {
      // The request waits behind a pass of batch 32 at α=1/224 (hundreds of ms) that is already
      // running, so it cannot finish within 50 ms however the event loop is scheduled.
      const slow = await load({ weights: 'random', alpha: 1, resolution: 224, seed: 3 });
      const server = await createServer({ models: { default: slow }, timeoutMs: 50 });
      try {
        const base = await server.listen({ port: 0, host: '127.0.0.1' });
        const busy = slow.infer(new Float32Array(32 * 224 * 224 * 3), [32, 224, 224, 3]);
        while (!(slow.stats().queueDepth === 0 && slow.stats().pending === 1)) await new Promise((r) => setImmediate(r));
        const r = await request(base, undefined, 'POST', '/v1/classify', images[0], { 'content-type': 'image/png' });
        expect(r.status, r.text).to.equal(503);
        expect(r.json.code).to.equal('ERR_TIMEOUT');
        await busy;
        expect((await request(base, undefined, 'GET', '/healthz')).status).to.equal(200);
      } finally {
        await server.close();
        slow.dispose();
      }
    });
  });

  describe('fuzzed and malformed requests', () => {
    let server: MobileNetServer;
    let base: string;
    let port: number;
    before(async () => {
      server = await createServer({ models: { default: model }, maxBodyMb: 1, maxPixels: 4_000_000 });
      base = await server.listen({ port: 0, host: '127.0.0.1' });
      port = Number(new URL(base).port);
    });
    after(async () => server.close());

    it('answers every bad body with a 4xx JSON error, never a 5xx', async () => {
      const random = rng(6);
      const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
      const jpeg = images[3];
      const png = images[1];
      const bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
      const mp = (files: Parameters<typeof multipartBody>[0]) => multipartBody(files);
      const cases: Array<{ name: string; url?: string; body?: Buffer; type?: string; status?: number; code?: string }> = [
        { name: 'empty body, image/jpeg', body: Buffer.alloc(0), type: 'image/jpeg', status: 400 },
        { name: 'no body, no type', status: 400 },
        // Not a raster signature: 415 before any decoder sees it (issue 16).
        { name: 'random bytes as image/jpeg', body: bytes(5000), type: 'image/jpeg', status: 415, code: 'ERR_UNSUPPORTED_MEDIA' },
        { name: 'random bytes as octet-stream', body: bytes(100), type: 'application/octet-stream', status: 415, code: 'ERR_UNSUPPORTED_MEDIA' },
        { name: 'one byte', body: Buffer.from([0xff]), type: 'image/png', status: 415 },
        { name: 'JPEG header only', body: jpeg.subarray(0, 200), type: 'image/jpeg', status: 422, code: 'ERR_INVALID_IMAGE' },
        { name: 'PNG header only', body: png.subarray(0, 64), type: 'image/png', status: 422, code: 'ERR_INVALID_IMAGE' },
        { name: 'PNG signature then garbage', body: Buffer.concat([png.subarray(0, 8), bytes(2000)]), type: 'image/png', status: 422 },
        { name: 'JSON body', body: Buffer.from('{"image":"x"}'), type: 'application/json', status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
        { name: 'text body', body: Buffer.from('hello'), type: 'text/plain', status: 415 },
        { name: 'image bytes without a type', body: jpeg, status: 415 },
        { name: 'made-up type', body: jpeg, type: 'foo/bar; x=1', status: 415 },
        { name: 'body over --max-body-mb', body: Buffer.concat([jpeg, bytes(1024 * 1024)]), type: 'image/jpeg', status: 413, code: 'ERR_BODY_TOO_LARGE' },
        { name: 'decompression bomb (25 Mpx PNG)', body: bomb, type: 'image/png', status: 413, code: 'ERR_IMAGE_TOO_LARGE' },
        { name: 'multipart without boundary', body: Buffer.from('xx'), type: 'multipart/form-data', status: 400 },
        { name: 'multipart with a wrong boundary', body: mp([{ field: 'a', filename: 'a.jpg', type: 'image/jpeg', data: jpeg }]).body, type: 'multipart/form-data; boundary=other', status: 400 },
        { name: 'multipart truncated', body: mp([{ field: 'a', filename: 'a.jpg', type: 'image/jpeg', data: jpeg }]).body.subarray(0, 5000), type: mp([]).type },
        { name: 'multipart with no files', body: Buffer.from('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n'), type: 'multipart/form-data; boundary=b', status: 400 },
        { name: 'multipart with a corrupt file', body: mp([{ field: 'a', filename: 'ok.png', type: 'image/png', data: png }, { field: 'b', filename: 'bad.jpg', type: 'image/jpeg', data: Buffer.concat([jpeg.subarray(0, 3), bytes(300)]) }]).body, type: mp([]).type, status: 422, code: 'ERR_INVALID_IMAGE' },
        { name: 'multipart files over --max-body-mb', body: mp([1, 2, 3].map((k) => ({ field: `f${k}`, filename: 'x.bin', type: 'image/jpeg', data: bytes(400 * 1024) }))).body, type: mp([]).type, status: 413 },
        { name: 'multipart garbage', body: bytes(3000), type: 'multipart/form-data; boundary=zz' },
        { name: 'topk not a number', url: '/v1/classify?topk=abc', body: jpeg, type: 'image/jpeg', status: 400, code: 'ERR_INVALID_ARGUMENT' },
        { name: 'topk too large', url: '/v1/classify?topk=100000', body: jpeg, type: 'image/jpeg', status: 400 },
        { name: 'topk repeated', url: '/v1/classify?topk=1&topk=2', body: jpeg, type: 'image/jpeg', status: 400 },
        { name: 'unknown preprocess', url: '/v1/classify?preprocess=bogus', body: jpeg, type: 'image/jpeg', status: 400 },
        { name: 'unknown query key', url: '/v1/classify?topK=3', body: jpeg, type: 'image/jpeg', status: 400 },
        { name: 'unknown model', url: '/v1/embed?model=nope', body: jpeg, type: 'image/jpeg', status: 404, code: 'ERR_UNKNOWN_MODEL' },
        { name: 'GET on a POST route', url: '/v1/classify', status: 404 },
        { name: 'unknown route', url: '/v2/x', body: jpeg, type: 'image/jpeg', status: 404, code: 'ERR_NOT_FOUND' },
      ];
      for (let k = 0; k < 20; k++) {
        // Every cut of a real JPEG and PNG (both decoders must refuse, not crash) and random type strings.
        const src = k % 2 ? jpeg : png;
        cases.push({ name: `cut at ${k}/20`, body: src.subarray(0, Math.floor((src.length * k) / 20)), type: k % 2 ? 'image/jpeg' : 'image/png' });
        cases.push({ name: `random type ${k}`, body: bytes(64), type: `image/${Math.floor(random() * 1e6).toString(36)}` });
      }
      for (const c of cases) {
        const method = c.name === 'GET on a POST route' ? 'GET' : 'POST';
        const headers: Record<string, string> = c.type ? { 'content-type': c.type } : {};
        const r = await request(base, undefined, method, c.url ?? '/v1/classify', c.body, headers);
        expectErrorReply(r, c.name);
        if (c.status) expect(r.status, `${c.name}: ${r.text}`).to.equal(c.status);
        if (c.code) expect(r.json.code, c.name).to.equal(c.code);
      }
      const metrics = (await request(base, undefined, 'GET', '/metrics')).text;
      expect(metrics).to.not.match(/status="5\d\d"/);
    });

    it('answers huge headers, garbage requests and truncated uploads without crashing', async () => {
      const huge = await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
      expect(huge).to.match(/^HTTP\/1\.1 431 /);
      expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)).code).to.equal('ERR_BAD_REQUEST');
      const many = await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`);
      // Node keeps the first 2000 headers and drops the rest (maxHeadersCount): any answer but a 5xx is fine.
      expect(many).to.match(/^HTTP\/1\.1 [24]\d\d /);
      const garbage = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
      expect(garbage).to.match(/^HTTP\/1\.1 400 /);
      // Content-Length promises more than is sent, then the client hangs up: no answer is possible, nothing may break.
      await rawExchange(port, `POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
      const mpCut = `POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="a"; filename="a.jpg"\r\n\r\nxxxx`;
      await rawExchange(port, mpCut);
      const h = await request(base, undefined, 'GET', '/healthz');
      expect(h.status).to.equal(200);
      const ok = await request(base, undefined, 'POST', '/v1/classify', images[2], { 'content-type': 'image/png' });
      expect(ok.status, ok.text).to.equal(200);
    });
  });
});
