/**
 * Locks shared by several server instances through Redis (`--lock-store redis://host:port/db`).
 *
 * Layout (all keys share one hash tag, so the scripts also run on a Redis Cluster slot):
 *   {ns}:locks   hash    token -> JSON of the lock without expiresAt
 *   {ns}:expiry  zset    token, score = expiresAt (epoch ms): the expiry index
 *   {ns}:roots   zset    "root\0token", all scores 0: lexicographic index of lock roots
 * Locks rooted at path P are the members in [P\0, P\0\xff]; locks rooted below P are the members
 * in [P/, P/\xff] (DAV paths hold no NUL and UTF-8 never holds 0xff), so `covering` costs one
 * ZRANGEBYLEX per ancestor plus one for the descendants, never a scan of every lock.
 * Every check-and-change runs as one Lua script, so it is atomic across instances. Expired
 * entries are ignored by every read, purged lazily by every create and dropped by a periodic sweep.
 *
 * `exclusive(paths, fn)` takes an in-process PathMutex first and then a short Redis lease on the
 * paths ({ns}:leases, {ns}:lease-paths, {ns}:lease-expiry, same layout), renewed while `fn` runs,
 * so a lock check and the write it guards are one step across all instances.
 *
 * Redis unreachable: commands are never queued (enableOfflineQueue off, a command timeout) and
 * every call fails at once with LockStoreUnavailable (503 + Retry-After); ioredis keeps
 * reconnecting and the manager works again as soon as Redis answers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Clock, CreateLimits, CreateResult, HeldSection, Hold, LockInfo, LockManager, NewLock } from './manager.js';
import { PathMutex, toHolds } from './path-mutex.js';
import { LockLimitReached, LockStoreUnavailable } from './errors.js';

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

/** Lua shared by every script: time, key names, index maintenance, the covering walk. */
const PRELUDE = `
local LOCKS, EXPIRY, ROOTS, PRINCIPALS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local SEP, TOP = '\\0', '\\255'
local function now_ms()
  local n = tonumber(ARGV[1])
  if n then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function principal_of(l)
  if type(l.principal) == 'string' then return l.principal end
  return ''
end
local function drop(token)
  local json = redis.call('HGET', LOCKS, token)
  if json then
    local l = cjson.decode(json)
    redis.call('ZREM', ROOTS, l.root .. SEP .. token)
    redis.call('HDEL', LOCKS, token)
    if redis.call('HINCRBY', PRINCIPALS, principal_of(l), -1) <= 0 then redis.call('HDEL', PRINCIPALS, principal_of(l)) end
  end
  redis.call('ZREM', EXPIRY, token)
  return json and 1 or 0
end
local function purge(now, limit)
  local old = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', now, 'LIMIT', 0, limit)
  for _, t in ipairs(old) do drop(t) end
  return #old
end
local function parent(p)
  local i = string.find(p, '/[^/]*$')
  if i == 1 then return '/' end
  return string.sub(p, 1, i - 1)
end
-- members of ROOTS rooted exactly at p
local function at(p)
  return redis.call('ZRANGEBYLEX', ROOTS, '[' .. p .. SEP, '[' .. p .. SEP .. TOP)
end
-- members of ROOTS rooted strictly below p
local function below(p)
  if p == '/' then return redis.call('ZRANGEBYLEX', ROOTS, '(/' .. SEP .. TOP, '+') end
  return redis.call('ZRANGEBYLEX', ROOTS, '[' .. p .. '/', '[' .. p .. '/' .. TOP)
end
local function token_of(member)
  return string.sub(member, string.find(member, SEP, 1, true) + 1)
end
-- live locks whose scope includes path (MemoryLockManager order: the path, its ancestors, then
-- with descendants the locks rooted below it); each entry is {token, json, expiresAt, decoded}
local function covering(path, descendants, now)
  local out = {}
  local function consider(member, need_infinity)
    local token = token_of(member)
    local exp = redis.call('ZSCORE', EXPIRY, token)
    if exp and tonumber(exp) > now then
      local json = redis.call('HGET', LOCKS, token)
      if json then
        local l = cjson.decode(json)
        if (not need_infinity) or l.depth == 'infinity' then out[#out + 1] = {token, json, tonumber(exp), l} end
      end
    end
  end
  local p, first = path, true
  while true do
    for _, m in ipairs(at(p)) do consider(m, not first) end
    if p == '/' then break end
    p, first = parent(p), false
  end
  if descendants then
    for _, m in ipairs(below(path)) do consider(m, false) end
  end
  return out
end
`;

const SCRIPTS = {
  /** ARGV: now, root, scope, depth ('0'|'infinity'), token, json, timeoutMs, principal, maxPerPrincipal ('' none) -> {1,json,exp} | {0,json,exp} | {2} */
  create: `
local now = now_ms()
purge(now, 100)
local root, scope = ARGV[2], ARGV[3]
for _, f in ipairs(covering(root, ARGV[4] == 'infinity', now)) do
  if f[4].scope == 'exclusive' or scope == 'exclusive' then return {0, f[2], f[3]} end
end
local token, json = ARGV[5], ARGV[6]
if ARGV[9] ~= '' and tonumber(redis.call('HGET', PRINCIPALS, ARGV[8]) or '0') >= tonumber(ARGV[9]) then return {2} end
local exp = now + tonumber(ARGV[7])
redis.call('HINCRBY', PRINCIPALS, ARGV[8], 1)
redis.call('HSET', LOCKS, token, json)
redis.call('ZADD', EXPIRY, exp, token)
redis.call('ZADD', ROOTS, 0, root .. SEP .. token)
return {1, json, exp}`,
  /** ARGV: now, token, timeoutSec, timeoutMs -> {json, exp} | nil */
  refresh: `
local now, token = now_ms(), ARGV[2]
local exp = redis.call('ZSCORE', EXPIRY, token)
if not exp then return false end
if tonumber(exp) <= now then drop(token) return false end
local json = redis.call('HGET', LOCKS, token)
if not json then redis.call('ZREM', EXPIRY, token) return false end
local l = cjson.decode(json)
l.timeoutSec = tonumber(ARGV[3])
json = cjson.encode(l)
exp = now + tonumber(ARGV[4])
redis.call('HSET', LOCKS, token, json)
redis.call('ZADD', EXPIRY, exp, token)
return {json, exp}`,
  /** ARGV: now, token -> 1 | 0 */
  remove: `
local now, token = now_ms(), ARGV[2]
local exp = redis.call('ZSCORE', EXPIRY, token)
if not exp then return 0 end
local live = tonumber(exp) > now
local dropped = drop(token)
if live then return dropped end
return 0`,
  /** ARGV: now, token -> {json, exp} | nil */
  byToken: `
local now, token = now_ms(), ARGV[2]
local exp = redis.call('ZSCORE', EXPIRY, token)
if not exp then return false end
if tonumber(exp) <= now then drop(token) return false end
local json = redis.call('HGET', LOCKS, token)
if not json then return false end
return {json, tonumber(exp)}`,
  /** ARGV: now, path, descendants ('1'|'0') -> {json, exp, json, exp, ...} */
  covering: `
local out = {}
for _, f in ipairs(covering(ARGV[2], ARGV[3] == '1', now_ms())) do
  out[#out + 1] = f[2]
  out[#out + 1] = f[3]
end
return out`,
  /** ARGV: now, path, below ('1': only locks rooted strictly below path) -> number dropped */
  dropTree: `
local path, n = ARGV[2], 0
if ARGV[3] == '1' then
  for _, m in ipairs(below(path)) do n = n + drop(token_of(m)) end
  return n
end
if path == '/' then
  for _, t in ipairs(redis.call('HKEYS', LOCKS)) do n = n + drop(t) end
  for _, t in ipairs(redis.call('ZRANGE', EXPIRY, 0, -1)) do drop(t) end
  return n
end
for _, m in ipairs(at(path)) do n = n + drop(token_of(m)) end
for _, m in ipairs(below(path)) do n = n + drop(token_of(m)) end
return n`,
  /** ARGV: now -> number dropped */
  sweep: `
local now, n = now_ms(), 0
repeat
  local k = purge(now, 500)
  n = n + k
until k < 500
return n`,
};

/**
 * Leases for exclusive(): KEYS leases, lease-expiry, lease-paths (writers), lease-read-paths
 * (readers), same layout as the locks. A writer conflicts with any lease on an overlapping path,
 * a reader only with writers.
 */
const LEASE_PRELUDE = `
local LEASES, LEXP, LPATHS, LRPATHS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local SEP, TOP = '\\0', '\\255'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- "w/a\\0r/b" -> {{'w','/a'},{'r','/b'}}
local function holds(joined)
  local out, start = {}, 1
  while true do
    local i = string.find(joined, SEP, start, true)
    local h = string.sub(joined, start, (i or 0) - 1)
    out[#out + 1] = {string.sub(h, 1, 1), string.sub(h, 2)}
    if not i then break end
    start = i + 1
  end
  return out
end
local function set_of(mode)
  if mode == 'r' then return LRPATHS end
  return LPATHS
end
local function release(id)
  local joined = redis.call('HGET', LEASES, id)
  if joined then
    for _, h in ipairs(holds(joined)) do redis.call('ZREM', set_of(h[1]), h[2] .. SEP .. id) end
    redis.call('HDEL', LEASES, id)
  end
  redis.call('ZREM', LEXP, id)
end
-- true when a lease in zset z holds path, an ancestor of it or a descendant
local function overlapping(z, path)
  local p = path
  while true do
    if #redis.call('ZRANGEBYLEX', z, '[' .. p .. SEP, '[' .. p .. SEP .. TOP, 'LIMIT', 0, 1) > 0 then return true end
    if p == '/' then break end
    local i = string.find(p, '/[^/]*$')
    if i == 1 then p = '/' else p = string.sub(p, 1, i - 1) end
  end
  local lo, hi = '[' .. path .. '/', '[' .. path .. '/' .. TOP
  if path == '/' then lo, hi = '(/' .. SEP .. TOP, '+' end
  return #redis.call('ZRANGEBYLEX', z, lo, hi, 'LIMIT', 0, 1) > 0
end
`;

const LEASE_SCRIPTS = {
  /** ARGV: id, leaseMs, joined holds (mode letter + path, NUL-separated) -> 1 acquired | 0 busy */
  acquire: `
local now = now_ms()
for _, old in ipairs(redis.call('ZRANGEBYSCORE', LEXP, '-inf', now, 'LIMIT', 0, 100)) do release(old) end
local id, joined = ARGV[1], ARGV[3]
local hs = holds(joined)
for _, h in ipairs(hs) do
  if overlapping(LPATHS, h[2]) then return 0 end
  if h[1] == 'w' and overlapping(LRPATHS, h[2]) then return 0 end
end
redis.call('HSET', LEASES, id, joined)
redis.call('ZADD', LEXP, now + tonumber(ARGV[2]), id)
for _, h in ipairs(hs) do redis.call('ZADD', set_of(h[1]), 0, h[2] .. SEP .. id) end
return 1`,
  /** ARGV: id, leaseMs -> 1 renewed | 0 lost */
  renew: `
if redis.call('HEXISTS', LEASES, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', LEXP, now_ms() + tonumber(ARGV[2]), ARGV[1])
return 1`,
  /** ARGV: id */
  release: `
release(ARGV[1])
return 1`,
};

interface Script {
  body: string;
  sha: string;
}

const script = (prelude: string, body: string): Script => {
  const text = prelude + body;
  return { body: text, sha: createHash('sha1').update(text).digest('hex') };
};
const compile = <K extends string>(prelude: string, table: Record<K, string>): Record<K, Script> =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [k, script(prelude, v as string)])) as Record<K, Script>;

const LOCK = compile(PRELUDE, SCRIPTS);
const LEASE = compile(LEASE_PRELUDE, LEASE_SCRIPTS);

/** Replies from Redis that mean "not now" rather than "this script is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** host:port/db of a Redis URL, without credentials, for log lines. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis';
  }
}

type StoredLock = Omit<LockInfo, 'expiresAt'>;

export class RedisLockManager implements LockManager {
  private readonly client: Redis;
  private readonly keys: string[];
  private readonly leaseKeys: string[];
  private readonly mutex = new PathMutex();
  private readonly clock?: Clock;
  private readonly timer?: NodeJS.Timeout;
  private readonly where: string;
  private readonly log: (line: string) => void;
  private readonly leaseMs: number;
  private readonly leaseWaitMs: number;
  private readonly connectWaitMs: number;
  /** Whether the last thing we learnt about Redis is that it answers (for log transitions). */
  private up = true;
  /** After a command timed out, fail fast until this time instead of waiting again per request. */
  private downUntil = 0;
  private closed = false;

  constructor(opts: RedisLockOptions) {
    const ns = `{${opts.namespace ?? 'webdav'}}`;
    this.keys = [`${ns}:locks`, `${ns}:expiry`, `${ns}:roots`, `${ns}:principals`];
    this.leaseKeys = [`${ns}:leases`, `${ns}:lease-expiry`, `${ns}:lease-paths`, `${ns}:lease-read-paths`];
    this.clock = opts.clock;
    this.where = describeRedisUrl(opts.url);
    this.log = opts.log ?? ((line) => console.error(line));
    this.leaseMs = opts.leaseMs ?? 10_000;
    this.leaseWaitMs = opts.leaseWaitMs ?? 30_000;
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
    const every = opts.sweepIntervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweep().catch(() => undefined), every);
      this.timer.unref();
    }
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

  private async run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
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
    const [ok, json, exp] = (await this.run(LOCK.create, this.keys, [
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
    const r = (await this.run(LOCK.refresh, this.keys, [this.now(), token, timeoutSec, timeoutSec * 1000])) as [string, number] | null;
    return r ? RedisLockManager.parse(r[0], r[1]) : null;
  }

  async remove(token: string): Promise<boolean> {
    return (await this.run(LOCK.remove, this.keys, [this.now(), token])) === 1;
  }

  async byToken(token: string): Promise<LockInfo | null> {
    const r = (await this.run(LOCK.byToken, this.keys, [this.now(), token])) as [string, number] | null;
    return r ? RedisLockManager.parse(r[0], r[1]) : null;
  }

  async covering(path: string, opts: { descendants?: boolean } = {}): Promise<LockInfo[]> {
    const flat = (await this.run(LOCK.covering, this.keys, [this.now(), path, opts.descendants ? '1' : '0'])) as (string | number)[];
    const out: LockInfo[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push(RedisLockManager.parse(String(flat[i]), flat[i + 1]));
    return out;
  }

  async dropTree(path: string, opts: { below?: boolean } = {}): Promise<void> {
    await this.run(LOCK.dropTree, this.keys, [this.now(), path, opts.below ? '1' : '0']);
  }

  /** Drops expired locks; returns how many. */
  async sweep(): Promise<number> {
    return Number(await this.run(LOCK.sweep, this.keys, [this.now()]));
  }

  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T> {
    const holds = toHolds(paths);
    // Sections of this process queue in memory; only one of them at a time asks Redis.
    return this.mutex.run(holds, async () => {
      const id = randomUUID();
      const joined = holds.map((h) => (h.mode === 'read' ? 'r' : 'w') + h.path).join('\0');
      await this.acquireLease(id, joined, holds);
      // The lease is ours until renewedAt + leaseMs; a renewal that fails or finds it gone
      // tells the section (signal, stillHeld) instead of letting it write on unprotected.
      let renewedAt = Date.now();
      const lost = new AbortController();
      const lose = (why: string): void => {
        if (lost.signal.aborted) return;
        this.log(`[lock-store] the critical section on ${holds.map((h) => h.path).join(', ')} lost its lease (${why})`);
        lost.abort(new LockStoreUnavailable(`the write lease was lost (${why})`));
      };
      const renew = setInterval(() => {
        if (Date.now() - renewedAt >= this.leaseMs) return lose('not renewed in time');
        this.run(LEASE.renew, this.leaseKeys, [id, this.leaseMs]).then(
          (ok) => {
            if (ok === 1) renewedAt = Date.now();
            else lose('expired');
          },
          () => undefined,
        );
      }, Math.max(50, Math.floor(this.leaseMs / 3)));
      renew.unref();
      const held: HeldSection = {
        signal: lost.signal,
        stillHeld: () => !lost.signal.aborted && Date.now() - renewedAt < this.leaseMs,
      };
      try {
        return await fn(held);
      } finally {
        clearInterval(renew);
        // If this fails the lease simply expires after leaseMs.
        await this.run(LEASE.release, this.leaseKeys, [id]).catch(() => undefined);
      }
    });
  }

  private async acquireLease(id: string, joined: string, holds: Hold[]): Promise<void> {
    const deadline = Date.now() + this.leaseWaitMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      if ((await this.run(LEASE.acquire, this.leaseKeys, [id, this.leaseMs, joined])) === 1) return;
      if (Date.now() >= deadline) throw new LockStoreUnavailable(`another instance held ${holds.map((h) => h.path).join(', ')} for over ${this.leaseWaitMs} ms`);
      await sleep(wait / 2 + Math.random() * wait);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => undefined);
    }
    this.client.disconnect();
  }
}
