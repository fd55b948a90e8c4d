/** `mobilenet serve`: the HTTP service (lib/apps/server), with graceful shutdown on SIGTERM/SIGINT. */
import { Command } from 'commander';
import { applyCoreBudget, coreBudget } from '../../core-budget';
import { fail } from '../../../core';
import { createServer, type ModelSource, type ServerOptions } from '../../server';
import { reportError } from '../main';

function parseNumber(name: string, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
      fail('ERR_INVALID_ARGUMENT', `--${name} expects a non-negative ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
    return n;
  };
}

function collectModel(v: string, previous: Record<string, ModelSource> | undefined): Record<string, ModelSource> {
  const eq = v.indexOf('=');
  if (eq <= 0 || eq === v.length - 1) fail('ERR_INVALID_ARGUMENT', `--model expects name=path (e.g. small=weights/mobilenet_v1_0.25_224/model.json), got ${JSON.stringify(v)}`);
  const name = v.slice(0, eq);
  const out = { ...(previous ?? {}) };
  if (name in out) fail('ERR_INVALID_ARGUMENT', `--model ${name} is given twice`);
  const path = v.slice(eq + 1);
  // 'bundled' names the weights shipped with the package, so a second model can sit next to it.
  out[name] = path === 'bundled' ? {} : path;
  return out;
}

/** What commander parses: the server's options, plus where to listen and --model/--log in their CLI form. */
interface ServeOptions extends Omit<ServerOptions, 'models' | 'logger'> {
  port: number;
  host: string;
  model?: Record<string, ModelSource>;
  log?: boolean;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve models over HTTP: POST /v1/classify, POST /v1/embed, GET /v1/models, /healthz, /metrics')
    .option('--port <n>', 'TCP port (0: any free port)', parseNumber('port', true), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--model <name=path>', "a model to serve, repeatable; the first is the default (path 'bundled': the shipped α=0.25/224 model). Default: default=bundled", collectModel)
    .option('--max-body-mb <mb>', 'largest request body in MiB (default 10)', parseNumber('max-body-mb', false))
    .option('--max-pixels <n>', 'largest decoded image, width·height (default 40000000)', parseNumber('max-pixels', true))
    .option('--timeout-ms <ms>', 'per-request limit before 503 ERR_TIMEOUT (default 30000)', parseNumber('timeout-ms', false))
    .option('--max-queue <n>', 'requests in flight per model before 503 ERR_QUEUE_FULL (default 256)', parseNumber('max-queue', true))
    .option('--max-queue-ms <ms>', "503 ERR_QUEUE_FULL when a request's expected wait is over this (default 5000)", parseNumber('max-queue-ms', false))
    .option('--concurrency <n>', 'images decoded at once (default: cores + 1, see README: core budget)', parseNumber('concurrency', true))
    .option('--max-files <n>', 'most image files in one multipart request (default 64)', parseNumber('max-files', true))
    .option('--threads <n>', 'OpenMP threads per model (default: all cores)', parseNumber('threads', true))
    .option('--max-wait-ms <ms>', 'how long the executor waits to batch a lone request (default 0)', parseNumber('max-wait-ms', false))
    .option('--preprocess <mode>', "default preprocessing: 'tfjs' or 'center-crop'")
    .option('--log', 'log each request (JSON lines on stdout)')
    .option('--allow-svg', 'accept SVG (trusted setups only: rendered in a child process, one at a time, killed at the decode time limit); default: 415')
    .option('--decode-timeout-ms <ms>', 'time limit of one image decode, then 422 ERR_DECODE_TIMEOUT (default 10000)', parseNumber('decode-timeout-ms', false))
    .option('--max-concurrent-decodes <n>', 'image decodes at once; /readyz answers 503 while more wait (default: cores, at most 4)', parseNumber('max-concurrent-decodes', true))
    .action(async (opts: ServeOptions) => {
      let server;
      try {
        const budget = coreBudget({ threads: opts.threads, concurrency: opts.concurrency });
        applyCoreBudget(budget);
        server = await createServer({
          maxQueueMs: opts.maxQueueMs,
          concurrency: budget.decoders,
          models: opts.model,
          maxBodyMb: opts.maxBodyMb,
          maxPixels: opts.maxPixels,
          timeoutMs: opts.timeoutMs,
          maxQueue: opts.maxQueue,
          maxFiles: opts.maxFiles,
          threads: budget.threads,
          maxWaitMs: opts.maxWaitMs,
          preprocess: opts.preprocess,
          logger: opts.log ?? false,
          allowSvg: opts.allowSvg ?? false,
          decodeTimeoutMs: opts.decodeTimeoutMs,
          maxConcurrentDecodes: opts.maxConcurrentDecodes,
        });
        const url = await server.listen({ port: opts.port, host: opts.host });
        const names = [...server.models].map(([name, m]) => `${name} (α=${m.arch.alpha}, ${m.arch.resolution} px)`).join(', ');
        process.stderr.write(`mobilenet serve: listening on ${url} with ${names}\n`);
      } catch (e) {
        await server?.close().catch(() => undefined);
        reportError(e);
        return;
      }
      const s = server;
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          process.stderr.write(`mobilenet serve: ${signal} again, exiting without waiting\n`);
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`mobilenet serve: ${signal}, finishing in-flight requests\n`);
        s.close().then(
          () => {
            process.stderr.write('mobilenet serve: stopped\n');
            process.exitCode = 0;
          },
          (e: unknown) => reportError(e),
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
