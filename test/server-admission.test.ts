/** The server's admission control (lib/apps/server/admission.ts): count and time bounds, first-come decode slots. */
import { expect } from 'chai';
import { Admission } from '../lib/apps/server/admission';

describe('server admission: a queue bounded by count and by time', () => {
  it('refuses by count at maxQueue, whatever the rate', () => {
    const a = new Admission(3, 1e9, 2, () => 0);
    expect([a.admit(), a.admit(), a.admit()]).to.deep.equal([undefined, undefined, undefined]);
    expect(a.admit()).to.match(/3 requests are in flight \(--max-queue 3\)/);
    a.done(true);
    expect(a.admit()).to.equal(undefined);
  });

  it('refuses by time once the measured rate says the wait would pass maxQueueMs', () => {
    let t = 0;
    const a = new Admission(1000, 500, 2, () => t);
    for (let i = 0; i < 20; i++) expect(a.admit(), `request ${i}: no rate known yet`).to.equal(undefined);
    for (let i = 0; i < 10; i++) {
      t += 100; // 10 completions per second
      a.done(true);
    }
    // 10 in flight at 10/s: the 11th would wait ~1.1 s > 500 ms.
    expect(a.admit()).to.match(/about 1100 ms \(10 requests in flight at 10\/s\), over --max-queue-ms 500/);
    for (let i = 0; i < 6; i++) a.done(true);
    t += 100;
    // 4 in flight: the next would wait ~0.5 s, at the bound: admitted.
    expect(a.admit()).to.equal(undefined);
  });

  it('forgets a rate measured long ago (an idle server admits again)', () => {
    let t = 0;
    const a = new Admission(1000, 100, 2, () => t);
    for (let i = 0; i < 20; i++) a.admit();
    for (let i = 0; i < 10; i++) {
      t += 200;
      a.done(true);
    }
    expect(a.admit()).to.be.a('string');
    t += 60_000;
    expect(a.admit()).to.equal(undefined);
  });

  it('runs at most `decoders` decodes at once, in the order they were asked for', async () => {
    const a = new Admission(100, 1e9, 2);
    let active = 0;
    let most = 0;
    const started: number[] = [];
    const job = (i: number) => a.decode(async () => {
      started.push(i);
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 5 + (i % 3)));
      active--;
      return i;
    });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => job(i)));
    expect(results).to.deep.equal(Array.from({ length: 12 }, (_, i) => i));
    expect(started).to.deep.equal(Array.from({ length: 12 }, (_, i) => i));
    expect(most).to.equal(2);
  });
});
