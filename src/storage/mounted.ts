/**
 * Shared folders mounted into a user's tree without symlinks: the user's view is their home
 * (a sub-tree of the served directory) with each mount as a top-level folder that is really
 * another sub-tree (`/team` -> `/teams/eng`). Several users mount the same folder, each beside
 * their own home, and see the same files, properties and locks (the lock side is
 * src/locks/mounted.ts; both translate paths through one MountMap).
 *
 * The home and each mount are the spine's per-root views (ScopedStorage, confined so no symlink
 * leads out of them); this view only routes a path to the view it lies in. Within one of them
 * every operation is that view's own. Across them (a COPY or MOVE between the home and a mount):
 * MOVE is one rename in the whole tree (renames never follow links, and whatever lands in a mount
 * is confined there when read); COPY walks the source through its own confined view and writes
 * through the destination's, member by member, reporting each as copied so dead properties
 * follow (it is not atomic: a partial copy can be seen while it runs). A mount point itself
 * cannot be deleted, moved or replaced.
 */
import type { Readable } from 'node:stream';
import type {
  DeadProperty,
  FailedMember,
  ListEntry,
  OpenFile,
  PendingUpload,
  PropPatchOp,
  PropertyStore,
  Quota,
  ReceiveOptions,
  ResourceInfo,
  StorageBackend,
  TreeResult,
} from './backend.js';
import { scopeChanges, type TreeChange } from './events.js';
import { StorageError, isStorageError } from './errors.js';
import { isSelfOrDescendant, joinPath } from '../dav/path.js';

export interface MountPoint {
  /** Top-level name in the user's view. */
  name: string;
  /** The mounted folder: a DAV path from the served root. */
  target: string;
}

/** Path translation between a user's view (home + mounts) and the whole tree. */
export class MountMap {
  private readonly byName: Map<string, MountPoint>;

  constructor(
    readonly home: string,
    readonly mounts: readonly MountPoint[],
  ) {
    this.byName = new Map(mounts.map((m) => [m.name, m]));
  }

  /** The mount a view path lies in (the mount point included), or undefined for the home. */
  mountOf(path: string): MountPoint | undefined {
    if (path === '/') return undefined;
    const end = path.indexOf('/', 1);
    return this.byName.get(end === -1 ? path.slice(1) : path.slice(1, end));
  }

  /** True when `path` is a mount point. */
  isMountPoint(path: string): boolean {
    return this.mountOf(path) !== undefined && path.indexOf('/', 1) === -1;
  }

  /** `path` inside the mount (or home) it lies in. */
  inner(path: string, m = this.mountOf(path)): string {
    if (!m) return path;
    const rest = path.slice(m.name.length + 1);
    return rest === '' ? '/' : rest;
  }

  /** The view path of a path inside mount `m` (or the home). */
  outer(inner: string, m: MountPoint | undefined): string {
    if (!m) return inner;
    return inner === '/' ? '/' + m.name : `/${m.name}${inner}`;
  }

  /** The folder of the served tree a view path lies in: the home or a mount's target. */
  scopeOf(path: string): string {
    return this.mountOf(path)?.target ?? this.home;
  }

  /** View path -> DAV path from the served root. */
  abs = (path: string): string => {
    const m = this.mountOf(path);
    const scope = m ? m.target : this.home;
    const rest = this.inner(path, m);
    if (scope === '/') return rest;
    return rest === '/' ? scope : scope + rest;
  };

  /**
   * DAV path from the served root -> view path (the mount whose target holds it, else the home);
   * null when the view cannot see it. A path above a scope maps to that scope's top.
   */
  rel = (abs: string): string | null => {
    let best: { scope: string; m?: MountPoint } | undefined;
    for (const s of [{ scope: this.home }, ...this.mounts.map((m) => ({ scope: m.target, m }))]) {
      if (isSelfOrDescendant(abs, s.scope) && (!best || s.scope.length > best.scope.length)) best = s;
    }
    if (!best) return null;
    const rest = best.scope === '/' ? abs : abs === best.scope ? '/' : abs.slice(best.scope.length);
    return this.outer(rest, best.m);
  };
}

const forbidden = (what: string): StorageError => new StorageError('forbidden', what);

/** Dead properties through the view: the one store of the whole tree, at the translated paths. */
class MountedProps implements PropertyStore {
  constructor(
    private readonly map: MountMap,
    private readonly whole: PropertyStore,
  ) {}

  get(path: string): Promise<DeadProperty[]> {
    return this.whole.get(this.map.abs(path));
  }
  patch(path: string, ops: PropPatchOp[]): Promise<void> {
    return this.whole.patch(this.map.abs(path), ops);
  }
  async membersWithProps(dir: string): Promise<Set<string>> {
    const names = await this.whole.membersWithProps(this.map.abs(dir));
    if (dir !== '/') return names;
    for (const m of this.map.mounts) {
      names.delete(m.name);
      if ((await this.whole.get(m.target)).length) names.add(m.name);
    }
    return names;
  }
  removeTree(path: string): Promise<void> {
    return this.whole.removeTree(this.map.abs(path));
  }
  moveTree(src: string, dst: string): Promise<void> {
    return this.whole.moveTree(this.map.abs(src), this.map.abs(dst));
  }
  copyTree(src: string, dst: string, deep: boolean): Promise<void> {
    return this.whole.copyTree(this.map.abs(src), this.map.abs(dst), deep);
  }
  contentReplaced(path: string, previousId?: string): Promise<void> {
    return this.whole.contentReplaced(this.map.abs(path), previousId);
  }
}

export class MountedStorage implements StorageBackend {
  readonly props: PropertyStore;

  constructor(
    readonly map: MountMap,
    private readonly home: StorageBackend,
    private readonly views: ReadonlyMap<string, StorageBackend>,
    /** The whole tree (for a MOVE from one view to another: one rename). */
    private readonly whole: StorageBackend,
  ) {
    this.props = new MountedProps(map, whole.props);
  }

  mountStorage(m: MountPoint): StorageBackend {
    return this.views.get(m.name)!;
  }

  /** The view a path lies in and the path inside it. */
  route(path: string): { storage: StorageBackend; path: string; mount?: MountPoint } {
    const m = this.map.mountOf(path);
    return m ? { storage: this.mountStorage(m), path: this.map.inner(path, m), mount: m } : { storage: this.home, path };
  }

  /** Changes a view reported, in this view's paths. */
  private back(changes: TreeChange[], m: MountPoint | undefined): TreeChange[] {
    return m ? scopeChanges(changes, (p) => this.map.outer(p, m)) : changes;
  }

  private tree(r: TreeResult, m: MountPoint | undefined): TreeResult {
    return { changes: this.back(r.changes, m), failed: r.failed.map((f) => ({ ...f, path: this.map.outer(f.path, m) })) };
  }

  stat(path: string): Promise<ResourceInfo | null> {
    const r = this.route(path);
    return r.storage.stat(r.path);
  }

  async *list(path: string): AsyncIterable<ListEntry> {
    const r = this.route(path);
    if (path !== '/') {
      yield* r.storage.list(r.path);
      return;
    }
    // The home's members, but a mount hides a member of the same name.
    for await (const e of this.home.list('/')) if (!this.map.mountOf('/' + e.name)) yield e;
    for (const m of this.map.mounts) {
      let info: ResourceInfo | null;
      try {
        info = await this.mountStorage(m).stat('/');
      } catch (e) {
        if (isStorageError(e)) continue; // a mount that went missing is left out
        throw e;
      }
      if (info) yield { name: m.name, info };
    }
  }

  read(path: string, range?: { start: number; end: number }): Promise<Readable> {
    const r = this.route(path);
    return r.storage.read(r.path, range);
  }

  get statWithSmallBody(): StorageBackend['statWithSmallBody'] {
    return async (path, max) => {
      const r = this.route(path);
      if (r.storage.statWithSmallBody) return r.storage.statWithSmallBody(r.path, max);
      const info = await r.storage.stat(r.path);
      return info && { info, body: null };
    };
  }

  get openFile(): StorageBackend['openFile'] {
    // Every view is a view of the same backend: they all open files, or none does.
    return (
      this.home.openFile &&
      ((path): Promise<OpenFile | null> => {
        const r = this.route(path);
        return r.storage.openFile!(r.path);
      })
    );
  }

  async receive(path: string, body: Readable, opts?: ReceiveOptions): Promise<PendingUpload> {
    const r = this.route(path);
    if (this.map.isMountPoint(path)) throw new StorageError('is-collection', 'A shared folder is a collection');
    const up = await r.storage.receive(r.path, body, opts);
    return {
      commit: async (current, o) => {
        const c = await up.commit(current, o);
        return { ...c, changes: this.back(c.changes, r.mount) };
      },
      abort: () => up.abort(),
    };
  }

  async createEmpty(path: string): Promise<TreeChange[]> {
    const r = this.route(path);
    return this.back(await r.storage.createEmpty(r.path), r.mount);
  }

  async mkdir(path: string): Promise<TreeChange[]> {
    if (this.map.isMountPoint(path)) throw new StorageError('exists', 'A shared folder is there');
    const r = this.route(path);
    return this.back(await r.storage.mkdir(r.path), r.mount);
  }

  async remove(path: string): Promise<TreeResult> {
    if (path === '/' || this.map.isMountPoint(path)) throw forbidden('A shared folder (or the top) cannot be deleted');
    const r = this.route(path);
    return this.tree(await r.storage.remove(r.path), r.mount);
  }

  async copy(src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult> {
    if (dst === '/' || this.map.isMountPoint(dst)) throw forbidden('A shared folder cannot be replaced');
    const from = this.route(src);
    const to = this.route(dst);
    if (from.storage === to.storage) return this.tree(await from.storage.copy(from.path, to.path, opts), from.mount);
    return this.copyAcross(src, dst, opts.recursive);
  }

  async move(src: string, dst: string): Promise<TreeResult> {
    if (src === '/' || dst === '/' || this.map.isMountPoint(src) || this.map.isMountPoint(dst)) throw forbidden('A shared folder cannot be moved or replaced');
    const from = this.route(src);
    const to = this.route(dst);
    if (from.storage === to.storage) return this.tree(await from.storage.move(from.path, to.path), from.mount);
    // Both ends looked up through their own confined views first (no symlink leads out of either).
    if (!(await from.storage.stat(from.path))) throw new StorageError('not-found', 'Not found');
    await to.storage.stat(to.path);
    const r = await this.whole.move(this.map.abs(src), this.map.abs(dst));
    const rel = (p: string): string => this.map.rel(p) ?? p;
    return { changes: scopeChanges(r.changes, rel), failed: r.failed.map((f) => ({ ...f, path: rel(f.path) })) };
  }

  /** COPY from one view into another, member by member through both views. */
  private async copyAcross(src: string, dst: string, recursive: boolean): Promise<TreeResult> {
    const info = await this.stat(src);
    if (!info) throw new StorageError('not-found', 'Not found');
    const changes: TreeChange[] = [];
    const failed: FailedMember[] = [];
    const existing = await this.stat(dst);
    if (existing && (existing.isCollection || info.isCollection)) {
      // RFC 4918 9.8.4: an existing destination is deleted first; if that fails in part, nothing is copied.
      const removal = await this.remove(dst);
      if (removal.failed.length) return removal;
      changes.push(...removal.changes.map((c) => (c.type === 'removed' && c.path === dst ? { ...c, overwritten: true } : c)));
    }
    const one = async (from: string, to: string, isCollection: boolean): Promise<boolean> => {
      try {
        if (isCollection) await this.mkdir(to);
        else {
          const body = await this.read(from);
          const up = await this.receive(to, body);
          try {
            await up.commit(await this.stat(to));
          } catch (e) {
            await up.abort();
            throw e;
          }
        }
        changes.push({ type: 'copied', from, to, isCollection, deep: false });
        return true;
      } catch (e) {
        if (!isStorageError(e)) throw e;
        failed.push({ path: to, kind: e.kind });
        return false;
      }
    };
    const walk = async (from: string, to: string): Promise<void> => {
      for await (const e of this.list(from)) {
        const f = joinPath(from, e.name);
        const t = joinPath(to, e.name);
        if ((await one(f, t, e.info.isCollection)) && e.info.isCollection) await walk(f, t);
      }
    };
    if (existing && !existing.isCollection && !info.isCollection) changes.push({ type: 'removed', path: dst, isCollection: false, overwritten: true });
    if ((await one(src, dst, info.isCollection)) && info.isCollection && recursive) await walk(src, dst);
    if (failed.length && failed[0]!.path === dst) throw new StorageError(failed[0]!.kind, 'Copy failed');
    return { changes, failed };
  }

  isReserved(path: string): boolean {
    const r = this.route(path);
    return r.storage.isReserved(r.path);
  }

  get canonicalPath(): StorageBackend['canonicalPath'] {
    return async (path) => {
      const r = this.route(path);
      return r.storage.canonicalPath ? this.map.outer(await r.storage.canonicalPath(r.path), r.mount) : path;
    };
  }

  get setMtime(): StorageBackend['setMtime'] {
    return async (path, ms) => {
      const r = this.route(path);
      if (!r.storage.setMtime) throw forbidden('not supported');
      return r.storage.setMtime(r.path, ms);
    };
  }

  get quota(): StorageBackend['quota'] {
    return async (path): Promise<Quota> => {
      const r = this.route(path);
      if (!r.storage.quota) throw forbidden('not supported');
      return r.storage.quota(r.path);
    };
  }
}
