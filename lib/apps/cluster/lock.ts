/**
 * The producer lock: a Redis key with a TTL that the producer refreshes, so that a second producer
 * on the same queue (a second writer of its results) is refused. A producer that died on this
 * machine (same host, boot and pid namespace, pid gone) leaves a stale lock that is taken over at
 * once; one that died elsewhere holds the queue until the TTL runs out.
 */
import * as fs from 'fs';
import * as os from 'os';
import { randomUUID } from 'crypto';
import type IORedis from 'ioredis';
import { fail } from '../../core';

interface Holder {
  token: string;
  host: string;
  pid: number;
  /** The pid namespace and boot, so that a pid is only judged dead where it means the same process. */
  pidns: string;
  boot: string;
  since: string;
}

const readLink = (p: string): string => {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '';
  }
};
const readText = (p: string): string => {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
};

function me(): Holder {
  return { token: randomUUID(), host: os.hostname(), pid: process.pid, pidns: readLink('/proc/self/ns/pid'), boot: readText('/proc/sys/kernel/random/boot_id'), since: new Date().toISOString() };
}

/** True only when the holder was provably a process of this machine that no longer exists. */
function holderIsDead(h: Holder, self: Holder): boolean {
  if (h.host !== self.host || h.pidns === '' || h.pidns !== self.pidns || h.boot === '' || h.boot !== self.boot) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

// A key that expired meanwhile (Redis was away past the TTL) is taken again unless someone else holds it.
const REFRESH = `local v = redis.call('get', KEYS[1])
if v == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not v then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const TAKE_OVER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return false end`;

export class ProducerLock {
  private timer: NodeJS.Timeout | undefined;
  /** Set when a refresh found the key held by someone else (this producer was stalled past the TTL). */
  lost = false;

  private constructor(private readonly client: IORedis, private readonly key: string, private readonly value: string, private readonly ttlMs: number) {}

  /** Takes the lock or fails with ERR_QUEUE naming the holder; refreshes it every ttl/3 until release(). */
  static async acquire(client: IORedis, key: string, queueName: string, ttlMs: number, warn: (m: string) => void): Promise<ProducerLock> {
    const self = me();
    const value = JSON.stringify(self);
    let ok = (await client.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
    if (!ok) {
      const held = await client.get(key);
      let holder: Holder | undefined;
      try {
        holder = held ? (JSON.parse(held) as Holder) : undefined;
      } catch {
        holder = undefined;
      }
      if (held && holder && holderIsDead(holder, self)) {
        ok = (await client.eval(TAKE_OVER, 1, key, held, value, String(ttlMs))) === 'OK';
        if (ok) warn(`took over the queue '${queueName}' from producer pid ${holder.pid} on this machine, which no longer runs`);
      } else if (held === null) {
        ok = (await client.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
      }
      if (!ok) {
        const ttl = await client.pttl(key);
        const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${holder.since}` : 'an unknown process';
        fail('ERR_QUEUE', `another producer is running on the queue '${queueName}' (${who}); one producer per queue, since it is the only writer of its results. If it is gone, its lock expires in ${Math.max(0, Math.ceil(ttl / 1000))} s; or use another --queue-name`);
      }
    }
    const lock = new ProducerLock(client, key, value, ttlMs);
    lock.timer = setInterval(() => void lock.refresh(), Math.max(100, Math.floor(ttlMs / 3)));
    lock.timer.unref();
    return lock;
  }

  private async refresh(): Promise<void> {
    try {
      if ((await this.client.eval(REFRESH, 1, this.key, this.value, String(this.ttlMs))) !== 1) this.lost = true;
    } catch {
      // Redis unreachable: the key's TTL keeps running there too; the next refresh tells.
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.client.eval(RELEASE, 1, this.key, this.value).catch(() => undefined);
  }
}
