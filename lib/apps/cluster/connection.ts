/**
 * The Redis behind a cluster batch: `redis://[user:password@]host:port[/db]` (or `rediss://` for
 * TLS), checked up front, and one ioredis connection per process shared by BullMQ and our own keys.
 */
import IORedis, { type RedisOptions } from 'ioredis';
import { describe, fail } from '../../core';

/** Default queue name: the BullMQ queue, and the prefix of the producer lock and refusal keys. */
export { DEFAULT_QUEUE_NAME } from './defaults';
/** BullMQ's key prefix (its default), so that its tools (Taskforce, bull-board) find the queue. */
export const KEY_PREFIX = 'bull';

export interface QueueAddress {
  /** The URL without its password, for messages. */
  display: string;
  options: RedisOptions;
}

/** Parses and checks a --queue URL. */
export function parseQueueUrl(url: string): QueueAddress {
  if (typeof url !== 'string' || url.length === 0) fail('ERR_INVALID_ARGUMENT', `--queue must be a redis:// URL, got ${describe(url)}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail('ERR_INVALID_ARGUMENT', `--queue must be a URL like redis://host:6379/0, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') fail('ERR_INVALID_ARGUMENT', `--queue must use redis:// or rediss://, got ${JSON.stringify(u.protocol)} in ${JSON.stringify(url)}`);
  if (u.hostname === '') fail('ERR_INVALID_ARGUMENT', `--queue needs a host, got ${JSON.stringify(url)}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 65535) fail('ERR_INVALID_ARGUMENT', `--queue database must be an integer (redis://host:port/<db>), got ${JSON.stringify(dbText)}`);
  const options: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ needs commands to wait for a reconnect instead of failing after N retries.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  };
  const auth = u.username !== '' || u.password !== '' ? `${u.username || 'default'}:***@` : '';
  return { display: `${u.protocol}//${auth}${u.host}/${db}`, options };
}

export function checkQueueName(name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name))
    fail('ERR_INVALID_ARGUMENT', `--queue-name must be 1 to 100 letters, digits, '_', '.' or '-', got ${describe(name)}`);
  return name;
}

/**
 * Connects and checks that Redis answers within `timeoutMs`; afterwards the connection waits out
 * outages (a Redis restart) instead of failing commands.
 */
export async function connectRedis(address: QueueAddress, timeoutMs = 10_000, onError?: (e: Error) => void): Promise<IORedis> {
  const client = new IORedis({ ...address.options, lazyConnect: true });
  let lastError: Error | undefined;
  client.on('error', (e: Error) => {
    lastError = e;
    onError?.(e);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
  } catch (e) {
    client.disconnect();
    return fail('ERR_QUEUE', `cannot reach Redis at ${address.display} within ${timeoutMs / 1000} s: ${(lastError ?? (e as Error)).message}`, e);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** Logs connection errors at most once per `everyMs` (a Redis restart otherwise prints one per retry). */
export function throttledLog(log: (m: string) => void, everyMs = 5000): (e: Error) => void {
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    log(`Redis connection: ${e.message}; retrying`);
  };
}
