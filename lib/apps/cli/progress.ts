/** The progress bar and closing line of `mobilenet batch`, on this machine and on a cluster alike. */
import { SingleBar } from 'cli-progress';
import { listInputs } from '../batch';
import { abortOnSigint } from './interrupt';
import { reportError } from './main';

export class BatchBar {
  private readonly bar: SingleBar | undefined;

  /** Shown only when asked for and stderr is a terminal; `columns` follow the bar, rate and errors. */
  constructor(show: boolean, columns = '') {
    this.bar = show && process.stderr.isTTY === true
      ? new SingleBar({ format: `[{bar}] {value}/{total} | {rate} img/s | {errors} errors${columns} | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 })
      : undefined;
  }

  /** Starts at 0 and counts the input in the background for the total (a large tree takes a while to walk). */
  start(input: string, extensions: string[] | undefined, payload: Record<string, unknown>): void {
    const bar = this.bar;
    if (!bar) return;
    bar.start(0, 0, { rate: '0.0', errors: 0, ...payload });
    void (async () => {
      let n = 0;
      for await (const _ of listInputs(input, extensions)) if (++n % 1000 === 0) bar.setTotal(n);
      bar.setTotal(n);
    })().catch(() => undefined);
  }

  update(p: { processed: number; skipped: number; rate: number; errors: number }, payload: Record<string, unknown> = {}): void {
    this.bar?.update(p.processed + p.skipped, { rate: p.rate.toFixed(1), errors: p.errors, ...payload });
  }

  /** A warning goes below a stopped bar, not into it. */
  warn(message: string): void {
    this.bar?.stop();
    process.stderr.write(`mobilenet batch: warning: ${message}\n`);
  }

  /** Stops the bar, prints the summary line, and exits 130 when Ctrl-C stopped the run. */
  finish(stopped: boolean, line: string): void {
    this.bar?.stop();
    process.stderr.write(line);
    if (stopped) process.exitCode = 130;
  }

  stop(): void {
    this.bar?.stop();
  }
}

/**
 * Runs a `mobilenet batch` job, local or on a cluster, with Ctrl-C stopping it gracefully (`job`
 * gets the signal) and the bar finished with the job's summary line; errors are reported, not thrown.
 */
export async function runBatchCommand(stopMessage: string, bar: BatchBar, job: (signal: AbortSignal) => Promise<{ stopped: boolean; line: string }>): Promise<void> {
  const interrupt = abortOnSigint(stopMessage);
  try {
    const { stopped, line } = await job(interrupt.signal);
    bar.finish(stopped, line);
  } catch (e) {
    bar.stop();
    reportError(e);
  } finally {
    interrupt.dispose();
  }
}
