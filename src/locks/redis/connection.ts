/**
 * The connection to Redis and what we know of its state. Commands are never queued
 * (enableOfflineQueue off, a command timeout): while Redis is unreachable every call fails at
 * once with LockStoreUnavailable (503 + Retry-After), one log line says so, and ioredis keeps
 * reconnecting; the first answer after that says it is back.
 */
import { Redis } from 'ioredis';
import { LockStoreUnavailable } from '../errors.js';
import type { Script } from './scripts.js';

/** Replies from Redis that mean "not now" rather than "this script is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** host:port/db of a Redis URL, without credentials, for log lines. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis';
  }
}

export interface ConnectionOptions {
  url: string;
  commandTimeoutMs?: number;
  connectWaitMs?: number;
  log: (line: string) => void;
}

export class RedisConnection {
  private readonly client: Redis;
  readonly where: string;
  private readonly log: (line: string) => void;
  private readonly connectWaitMs: number;
  /** Whether the last thing we learnt about Redis is that it answers (for log transitions). */
  private up = true;
  /** After a command timed out, fail fast until this time instead of waiting again per request. */
  private downUntil = 0;
  private closed = false;

  constructor(opts: ConnectionOptions) {
    this.where = describeRedisUrl(opts.url);
    this.log = opts.log;
    this.connectWaitMs = opts.connectWaitMs ?? 3_000;
    this.client = new Redis(opts.url, {
      // Never queue commands while disconnected: a request must fail now, not hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 2_000,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    });
    this.client.on('error', (e: Error) => this.markDown((e as NodeJS.ErrnoException).code ?? e.message));
    this.client.on('close', () => this.markDown('connection closed'));
    this.client.on('ready', () => {
      this.downUntil = 0;
      this.markUp();
    });
  }

  private markUp(): void {
    if (!this.up && !this.closed) this.log(`[lock-store] Redis ${this.where} is reachable again; locking and writes are back`);
    this.up = true;
  }

  private markDown(why: string): void {
    if (this.closed || !this.up) return;
    this.up = false;
    this.log(`[lock-store] Redis ${this.where} is unreachable (${why}); LOCK, UNLOCK and writes answer 503 until it is back, reads keep working`);
  }

  /** Waits (bounded) for the first connection; starts anyway when Redis is down. */
  async init(): Promise<void> {
    if (this.client.status === 'ready') return;
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        this.client.off('ready', onReady);
        resolve(false);
      }, this.connectWaitMs);
      const onReady = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.client.once('ready', onReady);
    });
    if (!ready) this.markDown('no answer at start');
  }

  /** Runs a script (EVALSHA, EVAL the first time); LockStoreUnavailable when Redis cannot answer. */
  async run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (this.closed) throw new LockStoreUnavailable('lock store closed');
    if (this.client.status !== 'ready' || Date.now() < this.downUntil) {
      this.markDown(`connection ${this.client.status}`);
      throw new LockStoreUnavailable(`Redis ${this.where} is unreachable`);
    }
    try {
      let reply: unknown;
      try {
        reply = await this.client.evalsha(s.sha, keys.length, ...keys, ...args);
      } catch (e) {
        if (!/^NOSCRIPT/.test((e as Error).message)) throw e;
        reply = await this.client.eval(s.body, keys.length, ...keys, ...args);
      }
      // A Redis that was stalled (command timeouts) comes back without a reconnect.
      if (!this.up) this.markUp();
      return reply;
    } catch (e) {
      const err = e as Error;
      if (err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) throw err;
      if (/timed out/i.test(err.message)) this.downUntil = Date.now() + 1_000;
      this.markDown(err.message);
      throw new LockStoreUnavailable(`Redis ${this.where}: ${err.message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
