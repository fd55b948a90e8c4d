/**
 * A local stand-in for storage.googleapis.com: serves model directories under the official
 * `/tfjs-models/tfjs/<name>/<file>` layout on 127.0.0.1, with hooks to break individual responses.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';

export interface Fault {
  /** Send this many bytes of the body, then destroy the socket (Content-Length announces the full size). */
  dropAfter?: number;
  /** Replace the body (Content-Length is that of the replacement). */
  body?: Buffer;
  /** Answer with this status and no body. */
  status?: number;
  /** Send this many bytes of the body, then nothing more while keeping the connection open. */
  stallAfter?: number;
  /** Answer 302 with this Location (relative to the request URL). */
  redirectTo?: string;
  /** Apply to the first `times` requests for the file only (default: every request). */
  times?: number;
}

export interface ModelServer {
  baseUrl: string;
  /** Requests per URL path. */
  hits: Map<string, number>;
  /** Faults by file name (e.g. 'model.json' or a shard name), for any model. */
  faults: Map<string, Fault>;
  close(): Promise<void>;
}

/** Serves each `models[name] = directory` at /tfjs-models/tfjs/<name>/. */
export async function startModelServer(models: Record<string, string>): Promise<ModelServer> {
  const hits = new Map<string, number>();
  const faults = new Map<string, Fault>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const count = (hits.get(url.pathname) ?? 0) + 1;
    hits.set(url.pathname, count);
    const m = /^\/tfjs-models\/tfjs\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const dir = m ? models[m[1]] : undefined;
    const file = m ? decodeURIComponent(m[2]) : '';
    if (!dir || file.includes('..') || !fs.existsSync(path.join(dir, file))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const fault = faults.get(file);
    const active = fault && (fault.times === undefined || count <= fault.times) ? fault : undefined;
    if (active?.status) {
      res.writeHead(active.status).end();
      return;
    }
    if (active?.redirectTo !== undefined) {
      res.writeHead(302, { location: active.redirectTo }).end();
      return;
    }
    const body = active?.body ?? fs.readFileSync(path.join(dir, file));
    if (active?.stallAfter !== undefined) {
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
      res.write(body.subarray(0, active.stallAfter));
      return;  // the socket stays open until the client gives up (or close() ends it)
    }
    if (active?.dropAfter !== undefined) {
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
      res.write(body.subarray(0, active.dropAfter), () => {
        // Give the bytes a moment to leave, then cut the connection as a failing network would.
        setTimeout(() => req.socket.destroy(), 5);
      });
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    hits,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
