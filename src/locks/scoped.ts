/**
 * The locks as seen by a user whose root is a sub-collection of the served directory. There
 * is one LockManager for the whole served tree, keyed by paths from the served root, so a
 * lock taken through one user's view protects the same resource in every other view (an
 * administrator at `/` and a user at `/alice` see and respect each other's locks) and the
 * critical sections of all users serialise on the same paths. This view only translates
 * paths: `/x` here is `<scope>/x` there. A lock rooted above the scope (a depth-infinity lock
 * on an ancestor) shows with the view's root `/` as its root; a lock entirely outside the
 * scope is invisible: byToken, refresh and remove do not find it.
 */
import type { CreateLimits, CreateResult, HeldSection, Hold, LockInfo, LockManager, NewLock } from './manager.js';
import { isSelfOrDescendant } from '../dav/path.js';

export class ScopedLockManager implements LockManager {
  constructor(
    private readonly inner: LockManager,
    private readonly scope: string,
  ) {}

  private abs(path: string): string {
    if (this.scope === '/') return path;
    return path === '/' ? this.scope : this.scope + path;
  }

  private rel(path: string): string {
    if (this.scope === '/' || path === this.scope) return this.scope === '/' ? path : '/';
    if (path.startsWith(this.scope + '/')) return path.slice(this.scope.length);
    return '/';
  }

  private view(l: LockInfo): LockInfo {
    return { ...l, root: this.rel(l.root) };
  }

  /** A lock this view may name: rooted inside the scope, or covering all of it. */
  private visible(l: LockInfo): boolean {
    return isSelfOrDescendant(l.root, this.scope) || (l.depth === 'infinity' && isSelfOrDescendant(this.scope, l.root));
  }

  async create(req: NewLock, limits?: CreateLimits): Promise<CreateResult> {
    const r = await this.inner.create({ ...req, root: this.abs(req.root) }, limits);
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
    return (await this.inner.covering(this.abs(path), opts)).map((l) => this.view(l));
  }

  dropTree(path: string, opts?: { below?: boolean }): Promise<void> {
    return this.inner.dropTree(this.abs(path), opts);
  }

  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T> {
    return this.inner.exclusive(
      paths.map((p) => (typeof p === 'string' ? this.abs(p) : { ...p, path: this.abs(p.path) })),
      fn,
    );
  }

  /** The shared manager is closed by its owner. */
  async close(): Promise<void> {}
}
