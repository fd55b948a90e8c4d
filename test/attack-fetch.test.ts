/**
 * Attacks on `fetch`: a server that never stops sending, one that announces too much, a manifest
 * that names paths, and a cached model changed after its download ("verified" must mean verified).
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { load } from '../lib';
import { fetchModel, findCachedModel } from '../lib/apps/fetch';
import { rejection } from './helpers/errors';
import { TFJS_025 } from './helpers/weights-fixtures';

const NAME = 'mobilenet_v1_0.25_224';
const SHARD = 'mobilenet_group1-shard1of1'; // the manifest declares 864 bytes
const fast = { retries: 2, backoffMs: 10, timeoutMs: 5000 };

interface Hostile {
  baseUrl: string;
  /** Bytes the server managed to hand to the socket for the attacked file. */
  sent: number;
  close(): Promise<void>;
}

/**
 * Serves the real α=0.25/224 model, except `attacked`: an endless body without Content-Length
 * ('endless'), or a Content-Length of 10 GB ('huge-length'). `manifest` replaces model.json.
 */
async function hostileServer(attacked: string, mode: 'endless' | 'huge-length', manifest?: Buffer): Promise<Hostile> {
  const state = { sent: 0 };
  const chunk = Buffer.alloc(64 * 1024, 0x3f);
  const server = http.createServer((req, res) => {
    const file = decodeURIComponent(path.basename(new URL(req.url ?? '/', 'http://x').pathname));
    if (file === attacked) {
      res.writeHead(200, mode === 'huge-length' ? { 'content-length': String(10 * 2 ** 30) } : { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (!res.destroyed) {
          state.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => res.destroy());
      pump();
      return;
    }
    if (file === 'model.json' && manifest) return void res.writeHead(200).end(manifest);
    const p = path.join(TFJS_025, file);
    if (!fs.existsSync(p)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': fs.statSync(p).size }).end(fs.readFileSync(p));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get sent() {
      return state.sent;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Largest total size of the cache's files seen while `p` runs (polled every 2 ms). */
async function peakBytesWritten(home: string, p: Promise<unknown>): Promise<number> {
  let peak = 0;
  const size = (dir: string): number => {
    let total = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      try {
        total += e.isDirectory() ? size(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size;
      } catch {
        /* removed meanwhile */
      }
    }
    return total;
  };
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, size(home));
    } catch {
      /* the home is being created */
    }
  }, 2);
  try {
    await p;
  } catch {
    /* the caller inspects p itself */
  } finally {
    clearInterval(timer);
  }
  return peak;
}

describe('attack: model downloads', function () {
  this.timeout(60_000);
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-attack-home-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('stops an endless shard body with no Content-Length at the manifest\'s bytes (at most declared + 1 MB written)', async () => {
    const server = await hostileServer(SHARD, 'endless');
    try {
      const job = fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
      const peak = await peakBytesWritten(home, job);
      const err = await rejection(job);
      expect(err.code).to.equal('ERR_DOWNLOAD');
      expect(err.message).to.include('more than the 864 bytes expected');
      const modelJson = fs.statSync(path.join(TFJS_025, 'model.json')).size;
      expect(peak).to.be.at.most(modelJson + 864 + 2 ** 20);
      expect(server.sent).to.be.below(64 * 2 ** 20); // the client hung up: the stream did not run on
      expect(fs.readdirSync(home)).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('caps an endless model.json at 4 MB', async () => {
    const server = await hostileServer('model.json', 'endless');
    try {
      const job = fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
      const peak = await peakBytesWritten(home, job);
      const err = await rejection(job);
      expect(err.code).to.equal('ERR_DOWNLOAD');
      expect(err.message).to.include(`more than the ${4 * 2 ** 20} bytes expected`);
      expect(peak).to.be.at.most(4 * 2 ** 20 + 2 ** 20);
    } finally {
      await server.close();
    }
  });

  it('refuses a Content-Length above the declared size before reading the body', async () => {
    const server = await hostileServer(SHARD, 'huge-length');
    try {
      const err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
      expect(err.code).to.equal('ERR_DOWNLOAD');
      expect(err.message).to.include(`announces ${10 * 2 ** 30} bytes`);
    } finally {
      await server.close();
    }
  });

  it('refuses a manifest naming /etc/passwd or ../ as a shard (the same checker as the loaders)', async () => {
    for (const bad of ['/etc/passwd', '../model.json', 'a/b']) {
      const json = JSON.parse(fs.readFileSync(path.join(TFJS_025, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = [bad];
      const server = await hostileServer('none', 'endless', Buffer.from(JSON.stringify(json)));
      try {
        const err = await rejection(fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl }));
        expect(err.code).to.equal('ERR_DOWNLOAD');
        expect(err.message).to.include('plain file name');
      } finally {
        await server.close();
      }
    }
  });

  it('verifies the sha256 recorded at download when a cached model loads: a flipped bit with finite values is refused', async () => {
    const server = await hostileServer('none', 'endless');
    try {
      const { dir, modelJson } = await fetchModel(0.25, 224, { ...fast, home, baseUrl: server.baseUrl });
      (await load({ weights: modelJson })).dispose();
      const shard = path.join(dir, SHARD);
      const bytes = fs.readFileSync(shard);
      bytes[1] ^= 0x01; // a low mantissa bit of the first float: still finite, same size
      fs.writeFileSync(shard, bytes);
      expect(findCachedModel(0.25, 224, home)).to.equal(modelJson); // sizes alone cannot see it
      const err = await rejection(load({ weights: modelJson }));
      expect(err.code).to.equal('ERR_WEIGHTS');
      expect(err.message).to.include(SHARD).and.include('sha256');
      // The same path through load({ alpha, resolution }) and the cache.
      const saved = process.env.MOBILENET_HOME;
      process.env.MOBILENET_HOME = home;
      try {
        expect((await rejection(load({ alpha: 0.25, resolution: 224 }))).code).to.equal('ERR_WEIGHTS');
      } finally {
        if (saved === undefined) delete process.env.MOBILENET_HOME;
        else process.env.MOBILENET_HOME = saved;
      }
    } finally {
      await server.close();
    }
  });
});
