/**
 * Locks shared by several server instances through Redis (`--lock-store redis://host:port/db`):
 * the lock store itself. The connection and its state live in connection.ts, the critical
 * sections (leases) in lease.ts, the Lua in lua/*.lua (scripts.ts loads them).
 *
 * Layout (all keys share one hash tag, so the scripts also run on a Redis Cluster slot):
 *   {ns}:locks       hash  token -> JSON of the lock without expiresAt
 *   {ns}:expiry      zset  token, score = expiresAt (epoch ms): the expiry index
 *   {ns}:roots       zset  "root\0token", all scores 0: lexicographic index of lock roots
 *   {ns}:principals  hash  principal ('' anonymous) -> live locks (the per-principal cap)
 * Locks rooted at path P are the members in [P\0, P\0\xff]; locks rooted below P are the members
 * in [P/, P/\xff] (DAV paths hold no NUL and UTF-8 never holds 0xff), so `covering` costs one
 * ZRANGEBYLEX per ancestor plus one for the descendants, never a scan of every lock. Every
 * check-and-change runs as one Lua script, so it is atomic across instances. Expired entries are
 * ignored by every read, purged lazily by every create and dropped by a periodic sweep.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, CreateLimits, CreateResult, HeldSection, Hold, LockInfo, LockManager, NewLock } from '../manager.js';
import { LockLimitReached } from '../errors.js';
import { LOCK } from './scripts.js';
import { RedisConnection } from './connection.js';
import { RedisLeases } from './lease.js';

export { describeRedisUrl } from './connection.js';

export interface RedisLockOptions {
  /** `redis://[user:pass@]host:port/db` or `rediss://...` */
  url: string;
  /** Key namespace; instances that share locks must use the same one. */
  namespace?: string;
  /** Injected clock (tests); by default Redis' own TIME is the one clock all instances share. */
  clock?: Clock;
  /** How often expired locks are swept, ms (0: never; expired locks are still ignored). */
  sweepIntervalMs?: number;
  /** Longest time one Redis command may take before the store counts as unavailable, ms. */
  commandTimeoutMs?: number;
  /** Lease of one critical section; renewed every third of it while the section runs, ms. */
  leaseMs?: number;
  /** Longest wait for a critical section held by another instance before answering 503, ms. */
  leaseWaitMs?: number;
  /** How long to wait for Redis at start before serving anyway (reads work, writes 503), ms. */
  connectWaitMs?: number;
  /** Operational log (connection lost / back); one line each. */
  log?: (line: string) => void;
}

type StoredLock = Omit<LockInfo, 'expiresAt'>;

export class RedisLockManager implements LockManager {
  private readonly conn: RedisConnection;
  private readonly leases: RedisLeases;
  private readonly keys: string[];
  private readonly clock?: Clock;
  private readonly timer?: NodeJS.Timeout;

  constructor(opts: RedisLockOptions) {
    const ns = `{${opts.namespace ?? 'webdav'}}`;
    this.keys = [`${ns}:locks`, `${ns}:expiry`, `${ns}:roots`, `${ns}:principals`];
    this.clock = opts.clock;
    const log = opts.log ?? ((line: string) => console.error(line));
    this.conn = new RedisConnection({ url: opts.url, commandTimeoutMs: opts.commandTimeoutMs, connectWaitMs: opts.connectWaitMs, log });
    this.leases = new RedisLeases(this.conn, [`${ns}:leases`, `${ns}:lease-expiry`, `${ns}:lease-paths`, `${ns}:lease-read-paths`], log, { leaseMs: opts.leaseMs, leaseWaitMs: opts.leaseWaitMs });
    const every = opts.sweepIntervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweep().catch(() => undefined), every);
      this.timer.unref();
    }
  }

  /** Waits (bounded) for the first connection; starts anyway when Redis is down. */
  init(): Promise<void> {
    return this.conn.init();
  }

  private now(): string {
    return this.clock ? String(this.clock()) : '';
  }

  private static parse(json: string, expiresAt: unknown): LockInfo {
    const stored = JSON.parse(json) as StoredLock;
    return { ...stored, expiresAt: Number(expiresAt) };
  }

  async create(req: NewLock, limits: CreateLimits = {}): Promise<CreateResult> {
    const token = `urn:uuid:${randomUUID()}`;
    const stored: StoredLock = { token, root: req.root, scope: req.scope, depth: req.depth, ownerXml: req.ownerXml, timeoutSec: req.timeoutSec };
    if (req.principal !== undefined) stored.principal = req.principal;
    const [ok, json, exp] = (await this.conn.run(LOCK.create, this.keys, [
      this.now(),
      req.root,
      req.scope,
      String(req.depth),
      token,
      JSON.stringify(stored),
      req.timeoutSec * 1000,
      req.principal ?? '',
      limits.maxPerPrincipal === undefined ? '' : String(limits.maxPerPrincipal),
    ])) as [number, string, number];
    if (ok === 2) throw new LockLimitReached(limits.maxPerPrincipal!);
    const lock = RedisLockManager.parse(json, exp);
    return ok === 1 ? { lock } : { conflict: lock };
  }

  async refresh(token: string, timeoutSec: number): Promise<LockInfo | null> {
    const r = (await this.conn.run(LOCK.refresh, this.keys, [this.now(), token, timeoutSec, timeoutSec * 1000])) as [string, number] | null;
    return r ? RedisLockManager.parse(r[0], r[1]) : null;
  }

  async remove(token: string): Promise<boolean> {
    return (await this.conn.run(LOCK.remove, this.keys, [this.now(), token])) === 1;
  }

  async byToken(token: string): Promise<LockInfo | null> {
    const r = (await this.conn.run(LOCK.byToken, this.keys, [this.now(), token])) as [string, number] | null;
    return r ? RedisLockManager.parse(r[0], r[1]) : null;
  }

  async covering(path: string, opts: { descendants?: boolean } = {}): Promise<LockInfo[]> {
    const flat = (await this.conn.run(LOCK.covering, this.keys, [this.now(), path, opts.descendants ? '1' : '0'])) as (string | number)[];
    const out: LockInfo[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push(RedisLockManager.parse(String(flat[i]), flat[i + 1]));
    return out;
  }

  async dropTree(path: string, opts: { below?: boolean } = {}): Promise<void> {
    await this.conn.run(LOCK.dropTree, this.keys, [this.now(), path, opts.below ? '1' : '0']);
  }

  /** Drops expired locks; returns how many. */
  async sweep(): Promise<number> {
    return Number(await this.conn.run(LOCK.sweep, this.keys, [this.now()]));
  }

  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T> {
    return this.leases.exclusive(paths, fn);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.conn.close();
  }
}
