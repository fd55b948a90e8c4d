/**
 * Admission and decoding order for one model of the server, so that load is shed before latency
 * explodes and no request waits behind later ones:
 *
 * - A request is refused (503 ERR_QUEUE_FULL) when `maxQueue` requests are already in flight, or
 *   when the wait it would see — requests in flight ÷ the completion rate measured over the last
 *   completions (Little's law) — exceeds `maxQueueMs`. The time bound adapts to the machine and the
 *   model: a slow model sheds at fewer requests than a fast one.
 * - Decodes run at most `decoders` at a time, first come first served, so libuv's pool never holds
 *   more decodes than the cores can serve and an early request's resize is not queued behind
 *   later requests' decodes. The executor then merges requests in arrival order.
 */
import { Slots } from '../../core';

const WINDOW = 64; // completions the rate is measured over
const MIN_SAMPLES = 8; // below this the rate is unknown and only the count bound applies
const STALE_MS = 5000; // completions older than this say nothing about the current rate

export class Admission {
  private inFlight = 0;
  private readonly completions: number[] = [];
  private readonly decodeSlots: Slots;

  constructor(
    private readonly maxQueue: number,
    private readonly maxQueueMs: number,
    decoders: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.decodeSlots = new Slots(decoders, Number.MAX_SAFE_INTEGER);  // the count and time bounds above limit the wait
  }

  get depth(): number {
    return this.inFlight;
  }

  /** Completions per ms over the recent window, or undefined while there are too few. */
  rate(now = this.now()): number | undefined {
    while (this.completions.length > 0 && now - this.completions[0] > STALE_MS) this.completions.shift();
    const n = this.completions.length;
    if (n < MIN_SAMPLES) return undefined;
    const span = this.completions[n - 1] - this.completions[0];
    return span > 0 ? (n - 1) / span : undefined;
  }

  /** Admits a request (call done() when it finishes) or returns why it is refused. */
  admit(): string | undefined {
    if (this.inFlight >= this.maxQueue) return `${this.inFlight} requests are in flight (--max-queue ${this.maxQueue}); retry later`;
    const rate = this.rate();
    if (rate !== undefined && this.inFlight > 0) {
      const waitMs = (this.inFlight + 1) / rate;
      if (waitMs > this.maxQueueMs)
        return `the queue would take about ${Math.round(waitMs)} ms (${this.inFlight} requests in flight at ${(rate * 1000).toFixed(0)}/s), over --max-queue-ms ${this.maxQueueMs}; retry later`;
    }
    this.inFlight++;
    return undefined;
  }

  done(completed: boolean): void {
    this.inFlight--;
    if (completed) {
      this.completions.push(this.now());
      if (this.completions.length > WINDOW) this.completions.shift();
    }
  }

  /** Runs `decode` when one of the `decoders` slots is free, in the order the calls were made. */
  decode<T>(decode: () => Promise<T>): Promise<T> {
    return this.decodeSlots.run(decode, 'admitted');
  }
}
