/**
 * The brute-force defender. Failed logins are counted per client address (IPv6 per /64) and
 * per user name in fixed windows, in the shared small-state store, so every worker and
 * instance counts together.
 *
 * - An address with `maxFailures` failures in a window is banned for `banSec`: every password
 *   check from it answers 429 + Retry-After before any hash is computed.
 * - A user name with `maxUserFailures` failures in a window (a guessing campaign spread over
 *   many addresses) is banned for `banSec` for the addresses that failed on it; an address
 *   that has not failed on that name still gets its password checked, so the owner logging in
 *   from elsewhere keeps working.
 * - Successful logins reset nothing (else one valid account would reset an attacker's count).
 *
 * One log line per ban (the process that creates the ban writes it). Counters for metrics are
 * kept in `stats` and announced as events: 'failure', 'ban', 'refused'.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { StateStore } from '../state/store.js';

export interface DefenderOptions {
  /** Failed logins from one address, per window, before it is banned (0: defender off). */
  maxFailures: number;
  /** Failed logins on one user name, per window, before that name is banned for the addresses that failed on it (0: no per-name limit). */
  maxUserFailures: number;
  windowSec: number;
  banSec: number;
  log?: (line: string) => void;
  clock?: () => number;
}

export interface Ban {
  /** Seconds until the ban ends (for Retry-After). */
  retryAfterSec: number;
}

interface BanRecord {
  until: number;
}

export interface DefenderStats {
  /** Failed logins counted. */
  failures: number;
  /** Bans this process created (each is logged once, by the process that created it). */
  bans: number;
  /** Password checks refused because of a ban. */
  refused: number;
  /** The state store could not be reached: the check went ahead without the defender. */
  storeErrors: number;
}

/** The address a ban applies to: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by /64. */
export function addressKey(address: string): string {
  let a = address.trim().toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  if (isIP(a) !== 6) return a;
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

/** User names go into state keys; long or odd ones by their hash. */
const nameKey = (user: string): string => (/^[\x21-\x7e]{1,64}$/.test(user) ? user : '#' + createHash('sha256').update(user).digest('hex').slice(0, 32));

export class Defender extends EventEmitter {
  readonly stats: DefenderStats = { failures: 0, bans: 0, refused: 0, storeErrors: 0 };
  private readonly log: (line: string) => void;
  private readonly clock: () => number;
  private storeDown = false;

  constructor(
    private readonly store: StateStore,
    readonly opts: DefenderOptions,
  ) {
    super();
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.clock = opts.clock ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.maxFailures > 0;
  }

  private retryAfter(ban: BanRecord | undefined): Ban | null {
    if (!ban) return null;
    const sec = Math.ceil((ban.until - this.clock()) / 1000);
    return sec > 0 ? { retryAfterSec: sec } : null;
  }

  /** The state store failed: the defender steps aside (logins keep working) and says so once. */
  private storeFailed(e: unknown): null {
    this.stats.storeErrors++;
    if (!this.storeDown) this.log(`[defender] state store unavailable (${(e as Error).message}); failed logins are not counted until it is back`);
    this.storeDown = true;
    return null;
  }

  private storeOk(): void {
    if (this.storeDown) this.log('[defender] state store reachable again; counting failed logins');
    this.storeDown = false;
  }

  /** Before a password check: the ban that applies to `address` trying `user`, or null. */
  async check(address: string, user: string): Promise<Ban | null> {
    if (!this.enabled) return null;
    const addr = addressKey(address);
    const name = nameKey(user);
    let ban: Ban | null;
    try {
      const [byAddr, byName] = await Promise.all([
        this.store.get<BanRecord>(`defender:ban-addr:${addr}`),
        this.opts.maxUserFailures > 0 ? this.store.get<BanRecord>(`defender:ban-user:${name}`) : undefined,
      ]);
      ban = this.retryAfter(byAddr);
      if (!ban && this.retryAfter(byName)) {
        const tried = await this.store.get<number>(`defender:fail-pair:${name}:${addr}`);
        if (tried !== undefined && tried > 0) ban = this.retryAfter(byName);
      }
      this.storeOk();
    } catch (e) {
      return this.storeFailed(e);
    }
    if (ban) {
      this.stats.refused++;
      this.emit('refused', { address: addr, user });
    }
    return ban;
  }

  /** After a failed password check: counts it; returns the ban it caused or that applies, or null. */
  async failed(address: string, user: string): Promise<Ban | null> {
    if (!this.enabled) return null;
    this.stats.failures++;
    this.emit('failure', { address, user });
    const addr = addressKey(address);
    const name = nameKey(user);
    const { maxFailures, maxUserFailures, windowSec, banSec } = this.opts;
    const window = { ttlMs: windowSec * 1000 };
    try {
      const [byAddr, byName] = await Promise.all([
        this.store.incr(`defender:fail-addr:${addr}`, window),
        this.store.incr(`defender:fail-user:${name}`, window),
        this.store.incr(`defender:fail-pair:${name}:${addr}`, { ttlMs: Math.max(windowSec, banSec) * 1000 }),
      ]);
      let ban: Ban | null = null;
      if (byAddr >= maxFailures) {
        ban = await this.ban(`defender:ban-addr:${addr}`, `address ${addr}`, `${byAddr} failed logins in ${windowSec} s`);
      }
      if (maxUserFailures > 0 && byName >= maxUserFailures) {
        ban = (await this.ban(`defender:ban-user:${name}`, `user name ${JSON.stringify(user.slice(0, 64))} for the addresses that failed on it`, `${byName} failed logins in ${windowSec} s`)) ?? ban;
      }
      this.storeOk();
      return ban;
    } catch (e) {
      return this.storeFailed(e);
    }
  }

  private async ban(key: string, what: string, why: string): Promise<Ban | null> {
    const until = this.clock() + this.opts.banSec * 1000;
    if (await this.store.add(key, { until } satisfies BanRecord, { ttlMs: this.opts.banSec * 1000 })) {
      this.stats.bans++;
      this.log(`[defender] banned ${what} for ${this.opts.banSec} s after ${why}`);
      this.emit('ban', { key, until });
      return { retryAfterSec: this.opts.banSec };
    }
    return this.retryAfter(await this.store.get<BanRecord>(key));
  }
}
