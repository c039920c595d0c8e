/**
 * The locks as seen by a user with shared folders mounted beside their home (src/storage/mounted.ts):
 * like ScopedLockManager, a view of the one lock manager that only translates paths, but through
 * a MountMap, so `/team/x` here is `/teams/eng/x` there. A lock taken on a team folder through
 * one user's view protects it in every other user's view (and the critical sections of all of
 * them serialise on the same paths). A lock rooted above a scope shows with that scope's top as
 * its root; a lock outside every scope of the view is invisible.
 */
import type { CreateLimits, CreateResult, HeldSection, Hold, LockInfo, LockManager, NewLock } from './manager.js';
import { isSelfOrDescendant } from '../dav/path.js';
import type { MountMap } from '../storage/mounted.js';

export class MountedLockManager implements LockManager {
  private readonly scopes: string[];

  constructor(
    private readonly inner: LockManager,
    private readonly map: MountMap,
  ) {
    this.scopes = [map.home, ...map.mounts.map((m) => m.target)];
  }

  /** A lock root from the whole tree as this view names it. */
  private rootOf(l: LockInfo): string {
    const direct = this.map.rel(l.root);
    if (direct !== null) return direct;
    // Rooted above a scope (depth infinity): the top of the first scope it covers.
    const home = this.map.home;
    if (isSelfOrDescendant(home, l.root)) return '/';
    const m = this.map.mounts.find((x) => isSelfOrDescendant(x.target, l.root));
    return m ? '/' + m.name : '/';
  }

  private view(l: LockInfo): LockInfo {
    return { ...l, root: this.rootOf(l) };
  }

  private visible(l: LockInfo): boolean {
    return this.scopes.some((s) => isSelfOrDescendant(l.root, s) || (l.depth === 'infinity' && isSelfOrDescendant(s, l.root)));
  }

  async create(req: NewLock, limits?: CreateLimits): Promise<CreateResult> {
    const r = await this.inner.create({ ...req, root: this.map.abs(req.root) }, limits);
    return 'lock' in r ? { lock: this.view(r.lock) } : { conflict: this.view(r.conflict) };
  }

  async refresh(token: string, timeoutSec: number): Promise<LockInfo | null> {
    const l = await this.inner.byToken(token);
    if (!l || !this.visible(l)) return null;
    const r = await this.inner.refresh(token, timeoutSec);
    return r && this.view(r);
  }

  async remove(token: string): Promise<boolean> {
    const l = await this.inner.byToken(token);
    if (!l || !this.visible(l)) return false;
    return this.inner.remove(token);
  }

  async byToken(token: string): Promise<LockInfo | null> {
    const l = await this.inner.byToken(token);
    return l && this.visible(l) ? this.view(l) : null;
  }

  async covering(path: string, opts?: { descendants?: boolean }): Promise<LockInfo[]> {
    const found = await this.inner.covering(this.map.abs(path), opts);
    // The top of the view holds the mounts too: their locks are below it.
    if (path === '/' && opts?.descendants) {
      const seen = new Set(found.map((l) => l.token));
      for (const m of this.map.mounts) for (const l of await this.inner.covering(m.target, opts)) if (!seen.has(l.token)) (seen.add(l.token), found.push(l));
    }
    return found.map((l) => this.view(l));
  }

  dropTree(path: string, opts?: { below?: boolean }): Promise<void> {
    return this.inner.dropTree(this.map.abs(path), opts);
  }

  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T> {
    const holds: Hold[] = [];
    for (const p of paths) {
      const h: Hold = typeof p === 'string' ? { path: p, mode: 'write' } : p;
      holds.push({ ...h, path: this.map.abs(h.path) });
      // The top of the view: the mounts are below it too.
      if (h.path === '/') for (const m of this.map.mounts) holds.push({ ...h, path: m.target });
    }
    return this.inner.exclusive(holds, fn);
  }

  /** The shared manager is closed by its owner. */
  async close(): Promise<void> {}
}
