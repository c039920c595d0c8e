/**
 * The small-state store in Redis (when the lock store is `redis://...`): one Redis string per
 * key, `<namespace>:state:<key>`, holding the value as JSON, with Redis' own expiry (PX) so
 * every instance shares one clock. `add` is SET NX, `incr` one Lua script (INCRBY and, for a
 * counter without expiry, PEXPIRE), `list` a SCAN of the prefix. ioredis is imported only when
 * this store is used. Like the lock store, commands are never queued while Redis is away: they
 * fail at once with StateStoreUnavailable and work again when it is back.
 */
import type { Redis as RedisClient } from 'ioredis';
import { checkTtl, splitKey, StateStoreUnavailable, type IncrOptions, type SetOptions, type StateEntry, type StateStore } from './store.js';

const INCR = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

export interface RedisStateOptions {
  url: string;
  /** Prefix of every key; instances that share state must use the same one. */
  namespace?: string;
  commandTimeoutMs?: number;
}

/** Glob metacharacters of SCAN MATCH, escaped. */
const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => '\\' + c);

export class RedisStateStore implements StateStore {
  private constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {}

  static async open(opts: RedisStateOptions): Promise<RedisStateStore> {
    const { Redis } = await import('ioredis');
    const client = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 2_000,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    });
    client.on('error', () => undefined); // the lock store logs Redis outages; callers see StateStoreUnavailable
    client.defineCommand('davStateIncr', { numberOfKeys: 1, lua: INCR });
    await new Promise<void>((resolve) => {
      if (client.status === 'ready') return resolve();
      const t = setTimeout(resolve, 3_000); // start anyway; calls fail until Redis answers
      client.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
    return new RedisStateStore(client, `${opts.namespace ?? 'webdav'}:state:`);
  }

  private k(key: string): string {
    splitKey(key);
    return this.prefix + key;
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') throw new StateStoreUnavailable(`Redis connection ${this.client.status}`);
    try {
      return await fn();
    } catch (e) {
      const err = e as Error;
      if (err.name === 'ReplyError') throw err;
      throw new StateStoreUnavailable(err.message);
    }
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const k = this.k(key);
    const v = await this.run(() => this.client.get(k));
    return v === null ? undefined : (JSON.parse(v) as T);
  }

  async set(key: string, value: unknown, opts: SetOptions = {}): Promise<void> {
    const k = this.k(key);
    checkTtl(opts.ttlMs);
    const json = JSON.stringify(value ?? null);
    await this.run(() => (opts.ttlMs ? this.client.set(k, json, 'PX', opts.ttlMs) : this.client.set(k, json)));
  }

  async add(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    const k = this.k(key);
    checkTtl(opts.ttlMs);
    const json = JSON.stringify(value ?? null);
    const r = await this.run(() => (opts.ttlMs ? this.client.set(k, json, 'PX', opts.ttlMs, 'NX') : this.client.set(k, json, 'NX')));
    return r === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    const k = this.k(key);
    return (await this.run(() => this.client.del(k))) > 0;
  }

  async incr(key: string, opts: IncrOptions = {}): Promise<number> {
    const k = this.k(key);
    const by = opts.by ?? 1;
    if (!Number.isSafeInteger(by)) throw new Error(`state incr needs a whole number, got ${by}`);
    checkTtl(opts.ttlMs);
    const client = this.client as RedisClient & { davStateIncr(key: string, by: number, ttl: number): Promise<number> };
    try {
      return await this.run(() => client.davStateIncr(k, by, opts.ttlMs ?? 0));
    } catch (e) {
      if ((e as Error).name === 'ReplyError') throw new Error(`state key ${key} does not hold a counter`);
      throw e;
    }
  }

  async list<T = unknown>(prefix: string): Promise<StateEntry<T>[]> {
    splitKey(prefix);
    const match = globEscape(this.prefix + prefix) + '*';
    const keys = new Set<string>();
    await this.run(async () => {
      let cursor = '0';
      do {
        const [next, batch] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        for (const k of batch) keys.add(k);
        cursor = next;
      } while (cursor !== '0');
    });
    const sorted = [...keys].sort();
    const out: StateEntry<T>[] = [];
    for (let i = 0; i < sorted.length; i += 500) {
      const batch = sorted.slice(i, i + 500);
      const values = await this.run(() => this.client.mget(...batch));
      batch.forEach((k, j) => {
        const v = values[j];
        if (v !== null && v !== undefined) out.push({ key: k.slice(this.prefix.length), value: JSON.parse(v) as T });
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
