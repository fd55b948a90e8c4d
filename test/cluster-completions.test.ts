/** Completions (lib/apps/cluster/completions.ts): the producer wakes on a finished chunk, also one that finished while it was busy. */
import { expect } from 'chai';
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { Completions } from '../lib/apps/cluster/completions';
import { KEY_PREFIX } from '../lib/apps/cluster/connection';
import { redisMissing, startRedis, type RedisServer } from './helpers/redis';
import { requireTool } from './helpers/skip';

describe('cluster producer: completion events', function () {
  this.timeout(60000);
  let redis: RedisServer;
  let client: IORedis;
  before(async function () {
    if (redisMissing()) requireTool(this, '/usr/bin/redis-server', 'apt-get install redis-server; .ci/run installs it');
    redis = await startRedis();
    client = new IORedis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('a wait ends when a chunk completes, and a completion that came while nobody waited is not lost', async () => {
    const completions = new Completions(client, 'events');
    const queue = new Queue('events', { connection: client, prefix: KEY_PREFIX });
    const workerConnection = new IORedis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
    const worker = new Worker('events', async () => 1, { connection: workerConnection, prefix: KEY_PREFIX });
    try {
      await new Promise((r) => setTimeout(r, 300)); // the event reader is listening
      const waited = (async () => {
        const t0 = Date.now();
        await completions.wait(20_000);
        return Date.now() - t0;
      })();
      await queue.add('a', {});
      expect(await waited, 'woken by the completion, not the 20 s fallback').to.be.below(5000);
      await queue.add('b', {});
      await new Promise((r) => setTimeout(r, 1000)); // completes while nobody waits
      const t0 = Date.now();
      await completions.wait(20_000);
      expect(Date.now() - t0, 'the missed completion ends the next wait at once').to.be.below(100);
    } finally {
      await worker.close();
      workerConnection.disconnect();
      await queue.close();
      await completions.close();
    }
  });
});
