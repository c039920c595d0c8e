/** Locks kept in memory: the reference implementation and the base of the persisted one. */
import { randomUUID } from 'node:crypto';
import { LockLimitReached } from './errors.js';
import { conflicts, HELD_FOREVER, type Clock, type CreateLimits, type CreateResult, type HeldSection, type Hold, type LockInfo, type LockManager, type NewLock } from './manager.js';
import { PathMutex } from './path-mutex.js';
import { isSelfOrDescendant, parentPath } from '../dav/path.js';

/** One change of the lock table, as a persisting subclass writes it down. */
export type LockChange = { op: 'put'; lock: LockInfo } | { op: 'del'; token: string };

export interface MemoryLockOptions {
  clock?: Clock;
  /** How often expired locks are swept, ms (0: never; expired locks are still ignored). */
  sweepIntervalMs?: number;
}

export class MemoryLockManager implements LockManager {
  protected readonly locks = new Map<string, LockInfo>();
  /** Lock tokens by root path. */
  private readonly byRoot = new Map<string, Set<string>>();
  private readonly mutex = new PathMutex();
  protected readonly clock: Clock;
  private readonly timer?: NodeJS.Timeout;

  constructor(opts: MemoryLockOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    const every = opts.sweepIntervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  /** Drops expired locks; returns how many. */
  sweep(): number {
    const now = this.clock();
    let n = 0;
    for (const l of [...this.locks.values()]) if (l.expiresAt <= now) n += this.drop(l.token) ? 1 : 0;
    if (n) this.changed();
    return n;
  }

  /** Hook for subclasses that persist: called after every change. */
  protected changed(): Promise<void> {
    return Promise.resolve();
  }

  /** Hook for subclasses that persist change by change (a journal): called for every change. */
  protected record(_change: LockChange): void {}

  protected insert(lock: LockInfo, record = true): void {
    if (record) this.record({ op: 'put', lock: { ...lock } });
    if (!this.locks.has(lock.token)) this.perPrincipal.set(lock.principal ?? '', (this.perPrincipal.get(lock.principal ?? '') ?? 0) + 1);
    this.locks.set(lock.token, lock);
    let set = this.byRoot.get(lock.root);
    if (!set) this.byRoot.set(lock.root, (set = new Set()));
    set.add(lock.token);
  }

  protected drop(token: string, record = true): boolean {
    const l = this.locks.get(token);
    if (!l) return false;
    if (record) this.record({ op: 'del', token });
    this.locks.delete(token);
    const n = (this.perPrincipal.get(l.principal ?? '') ?? 1) - 1;
    if (n > 0) this.perPrincipal.set(l.principal ?? '', n);
    else this.perPrincipal.delete(l.principal ?? '');
    const set = this.byRoot.get(l.root);
    set?.delete(token);
    if (set && set.size === 0) this.byRoot.delete(l.root);
    return true;
  }

  private live(token: string): LockInfo | null {
    const l = this.locks.get(token);
    if (!l) return null;
    if (l.expiresAt <= this.clock()) {
      this.drop(token);
      void this.changed();
      return null;
    }
    return l;
  }

  private coveringNow(path: string, descendants: boolean): LockInfo[] {
    const out: LockInfo[] = [];
    for (let p = path, first = true; ; first = false) {
      const set = this.byRoot.get(p);
      if (set) {
        for (const t of set) {
          const l = this.live(t);
          if (l && (first || l.depth === 'infinity')) out.push(l);
        }
      }
      if (p === '/') break;
      p = parentPath(p);
    }
    if (descendants) {
      for (const l of [...this.locks.values()]) {
        if (l.root !== path && isSelfOrDescendant(l.root, path) && this.live(l.token)) out.push(l);
      }
    }
    return out;
  }

  /** Live locks per principal ('' for anonymous). */
  private readonly perPrincipal = new Map<string, number>();

  async create(req: NewLock, limits: CreateLimits = {}): Promise<CreateResult> {
    const conflict = this.coveringNow(req.root, req.depth === 'infinity').find((l) => conflicts(l, req.scope));
    if (conflict) return { conflict };
    if (limits.maxPerPrincipal !== undefined && (this.perPrincipal.get(req.principal ?? '') ?? 0) >= limits.maxPerPrincipal) {
      // The count includes locks that expired but were not swept yet: sweep, then look again.
      this.sweep();
      if ((this.perPrincipal.get(req.principal ?? '') ?? 0) >= limits.maxPerPrincipal) throw new LockLimitReached(limits.maxPerPrincipal);
    }
    const lock: LockInfo = { ...req, token: `urn:uuid:${randomUUID()}`, expiresAt: this.clock() + req.timeoutSec * 1000 };
    this.insert(lock);
    try {
      await this.changed();
    } catch (e) {
      this.drop(lock.token, false); // not persisted (e.g. disk full): the client is told it has no lock
      throw e;
    }
    return { lock };
  }

  async refresh(token: string, timeoutSec: number): Promise<LockInfo | null> {
    const l = this.live(token);
    if (!l) return null;
    l.timeoutSec = timeoutSec;
    l.expiresAt = this.clock() + timeoutSec * 1000;
    this.record({ op: 'put', lock: { ...l } });
    await this.changed();
    return l;
  }

  async remove(token: string): Promise<boolean> {
    const l = this.live(token);
    const removed = l !== null && this.drop(token);
    if (removed) {
      try {
        await this.changed();
      } catch (e) {
        this.insert(l, false); // still persisted: keep it, so memory and disk agree
        throw e;
      }
    }
    return removed;
  }

  async byToken(token: string): Promise<LockInfo | null> {
    return this.live(token);
  }

  async covering(path: string, opts: { descendants?: boolean } = {}): Promise<LockInfo[]> {
    return this.coveringNow(path, opts.descendants ?? false);
  }

  async dropTree(path: string, opts: { below?: boolean } = {}): Promise<void> {
    let n = 0;
    for (const l of [...this.locks.values()]) {
      if (isSelfOrDescendant(l.root, path) && !(opts.below && l.root === path)) n += this.drop(l.token) ? 1 : 0;
    }
    if (n) await this.changed();
  }

  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T> {
    return this.mutex.run(paths, () => fn(HELD_FOREVER));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}
