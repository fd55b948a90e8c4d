/**
 * The peer of `mobilenet serve` in bench:serve: the server a user would write with node:http, sharp
 * and onnxruntime-node — decode and squash-resize with sharp ('linear'), scale to [-1, 1] in JS, one
 * session.run per request. Prints "listening on <url>" once ready.
 *
 *   node dist/bench/peer-server.js <model.onnx> [threads]
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const R = 224;

async function classify(session: ort.InferenceSession, body: Buffer): Promise<Array<{ classIndex: number; probability: number }>> {
  const pixels = await sharp(body).autoOrient().toColourspace('srgb').removeAlpha().resize(R, R, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  const input = new Float32Array(R * R * 3);
  for (let i = 0; i < input.length; i++) input[i] = pixels[i] / 127.5 - 1;
  const result = await session.run({ input: new ort.Tensor('float32', input, [1, R, R, 3]) }, ['probabilities']);
  const p = result.probabilities.data as Float32Array;
  return Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, 5).map((k) => ({ classIndex: k, probability: p[k] }));
}

async function main(): Promise<void> {
  const [model, threads] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(threads ?? 0), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      classify(session, Buffer.concat(chunks)).then(
        (predictions) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ predictions }));
        },
        (e: Error) => {
          res.writeHead(422, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: e.message }));
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  const stop = (): void => {
    server.close(() => void session.release().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
