/**
 * Attacks on `mobilenet serve`: SVG bombs with and without --allow-svg, bytes that are no raster
 * image whatever their Content-Type, a multipart part far over the limit, and what /v1/models
 * reveals. None may get a 500 or stop good requests.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { createServer, type MobileNetServer } from '../lib/apps/server';
import { DEMO_DIR } from './helpers/images';
import { SVG_BOMB } from './helpers/hostile';

const SMALL_SVG = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48" fill="#3a7"/></svg>');

interface Reply {
  status: number;
  json: { code?: string; message?: string; [k: string]: unknown };
}

function post(base: string, url: string, body: Buffer, type: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(url, base), { method: 'POST', agent: false, headers: { 'content-type': type, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(base: string, url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http.get(new URL(url, base), { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    }).on('error', reject);
  });
}

describe('attack: HTTP server', function () {
  this.timeout(120_000);
  const png = fs.readFileSync(path.join(DEMO_DIR, 'coffee.png'));
  const jpeg = fs.readFileSync(path.join(DEMO_DIR, 'rocket.jpg'));

  describe('without --allow-svg', () => {
    let server: MobileNetServer;
    let base: string;
    before(async () => {
      server = await createServer({ maxBodyMb: 1, models: { small: path.resolve(__dirname, '..', '..', 'weights', 'mobilenet_v1_0.25_224', 'model.json') } });
      base = await server.listen({ port: 0 });
    });
    after(() => server.close());

    it('refuses the 195-byte SVG bomb with 415 ERR_UNSUPPORTED_MEDIA, whatever Content-Type it claims', async () => {
      for (const type of ['image/svg+xml', 'image/png', 'application/octet-stream']) {
        const r = await post(base, '/v1/classify', SVG_BOMB, type);
        expect(r.status, type).to.equal(415);
        expect(r.json.code).to.equal('ERR_UNSUPPORTED_MEDIA');
        expect(r.json.message).to.include('--allow-svg');
      }
      expect((await post(base, '/v1/classify', Buffer.concat([Buffer.from('\uFEFF  \n'), SMALL_SVG]), 'image/svg+xml')).status).to.equal(415);
    });

    it('refuses formats sharp reads but the server does not take (PDF, HEIC-like ftyp, PPM, raw text) with 415', async () => {
      const bodies = [Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj'), Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic'), Buffer.from('P6\n2 2\n255\n' + 'x'.repeat(12)), Buffer.from('hello')];
      for (const body of bodies) {
        const r = await post(base, '/v1/classify', body, 'image/jpeg');
        expect(r.status, body.subarray(0, 8).toString('latin1')).to.equal(415);
        expect(r.json.code).to.equal('ERR_UNSUPPORTED_MEDIA');
      }
      expect((await post(base, '/v1/classify', jpeg, 'image/jpeg')).status).to.equal(200);
    });

    it('/v1/models shows the weights\' folder and file name, not the absolute path', async () => {
      const r = await get(base, '/v1/models');
      const source = (r.json.models as Array<{ source: string }>)[0].source;
      expect(source).to.equal('mobilenet_v1_0.25_224/model.json');
      expect(JSON.stringify(r.json)).not.to.include(path.resolve(__dirname, '..', '..'));
    });

    it('answers a multipart part far over the limit with 413 while the client is still sending (not after the whole body)', async () => {
      const port = Number(new URL(base).port);
      const boundary = 'b0undary';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="a"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
      const declared = 200 * 2 ** 20;
      const result = await new Promise<{ sent: number; response: string }>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let sent = 0;
        let response = '';
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          socket.destroy();
          resolve({ sent, response });
        };
        socket.on('data', (d: Buffer) => {
          response += d.toString('latin1');
          if (response.includes('\r\n\r\n')) finish();
        });
        socket.on('error', finish);
        socket.on('close', finish);
        socket.write(`POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n${head}`);
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        const pump = (): void => {
          while (!done && sent < declared - 2 ** 20) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      expect(result.response).to.match(/^HTTP\/1\.1 413 /);
      // The limit is 1 MiB; the answer must come long before the 200 MB are sent.
      expect(result.sent).to.be.below(32 * 2 ** 20);
    });
  });

  describe('with --allow-svg', () => {
    let server: MobileNetServer;
    let base: string;
    before(async () => {
      server = await createServer({ allowSvg: true, decodeTimeoutMs: 1500 });
      base = await server.listen({ port: 0 });
    });
    after(() => server.close());

    it('renders a small SVG and classifies it', async () => {
      const r = await post(base, '/v1/classify?topk=1', SMALL_SVG, 'image/svg+xml');
      expect(r.status).to.equal(200);
      expect((r.json.predictions as unknown[]).length).to.equal(1);
    });

    it('stops 4 SVG bombs at the decode time limit while a good image is answered during the flood, and /readyz says 503 meanwhile', async () => {
      const bombs = Array.from({ length: 4 }, () => post(base, '/v1/classify', SVG_BOMB, 'image/svg+xml'));
      let settled = 0;
      for (const b of bombs) void b.then(() => settled++, () => settled++);
      await new Promise((r) => setTimeout(r, 300));
      const ready = await get(base, '/readyz');
      const t0 = Date.now();
      const good = await post(base, '/v1/classify', png, 'image/png');
      const goodMs = Date.now() - t0;
      const settledWhenGoodAnswered = settled;
      const replies = await Promise.all(bombs);
      // Logged for the record (tests do not assert time); the target is < 2 s.
      process.stdout.write(`      good image during 4 SVG bombs: ${goodMs} ms\n`);
      expect(good.status).to.equal(200);
      expect(settledWhenGoodAnswered).to.be.below(4);
      expect(ready.status).to.equal(503);
      expect(ready.json.status).to.equal('saturated');
      for (const r of replies) {
        expect(r.status).to.equal(422);
        expect(r.json.code).to.equal('ERR_DECODE_TIMEOUT');
      }
      expect((await get(base, '/readyz')).status).to.equal(200);
    });
  });
});
