/**
 * The storage as seen by a user whose root is a sub-collection of the served tree: a view of
 * any StorageBackend that only translates paths (`/x` here is `<scope>/x` there), like the lock
 * side's ScopedLockManager. Nothing outside the scope has a path in the view. Tree changes come
 * back in the view's paths; the view's event sink (ScopedTreeEvents) publishes them in the
 * whole tree's paths, where the dead-property store and the lock manager listen. A backend that
 * can follow links (the filesystem) is first confined to the scope (`confine`), so a symlink
 * cannot lead out of a user's root either.
 */
import type { Readable } from 'node:stream';
import type {
  DeadProperty,
  ListEntry,
  OpenFile,
  PendingUpload,
  PropPatchOp,
  PropertyStore,
  Quota,
  ReceiveOptions,
  ResumableStaging,
  ResourceInfo,
  StorageBackend,
  TreeResult,
} from './backend.js';
import { scopeChanges, type TreeChange } from './events.js';
import { isReservedName, isReservedPath } from './reserved.js';

/** Path translation between a scope and the whole tree. */
export class Scope {
  constructor(readonly root: string) {}

  abs = (path: string): string => (this.root === '/' ? path : path === '/' ? this.root : this.root + path);

  rel = (path: string): string => {
    if (this.root === '/') return path;
    if (path === this.root) return '/';
    return path.startsWith(this.root + '/') ? path.slice(this.root.length) : path;
  };
}

export class ScopedPropertyStore implements PropertyStore {
  constructor(
    private readonly inner: PropertyStore,
    private readonly scope: Scope,
  ) {}

  get(path: string): Promise<DeadProperty[]> {
    return this.inner.get(this.scope.abs(path));
  }
  patch(path: string, ops: PropPatchOp[]): Promise<void> {
    return this.inner.patch(this.scope.abs(path), ops);
  }
  membersWithProps(dir: string): Promise<Set<string>> {
    return this.inner.membersWithProps(this.scope.abs(dir));
  }
  removeTree(path: string): Promise<void> {
    return this.inner.removeTree(this.scope.abs(path));
  }
  moveTree(src: string, dst: string): Promise<void> {
    return this.inner.moveTree(this.scope.abs(src), this.scope.abs(dst));
  }
  copyTree(src: string, dst: string, deep: boolean): Promise<void> {
    return this.inner.copyTree(this.scope.abs(src), this.scope.abs(dst), deep);
  }
  contentReplaced(path: string, previousId?: string): Promise<void> {
    return this.inner.contentReplaced(this.scope.abs(path), previousId);
  }
}

export class ScopedStorage implements StorageBackend {
  readonly props: PropertyStore;
  private readonly scope: Scope;

  private constructor(
    private readonly inner: StorageBackend,
    root: string,
  ) {
    this.scope = new Scope(root);
    this.props = new ScopedPropertyStore(inner.props, this.scope);
  }

  /** A view of `inner` below `root` (confined to it first when the backend can follow links). */
  static async create(inner: StorageBackend, root: string): Promise<ScopedStorage> {
    if (root === '/') return new ScopedStorage(inner, root);
    return new ScopedStorage(inner.confine ? await inner.confine(root) : inner, root);
  }

  private readonly back = (changes: TreeChange[]): TreeChange[] => scopeChanges(changes, this.scope.rel);
  private tree(r: TreeResult): TreeResult {
    return { changes: this.back(r.changes), failed: r.failed.map((f) => ({ ...f, path: this.scope.rel(f.path) })) };
  }

  stat(path: string): Promise<ResourceInfo | null> {
    return this.inner.stat(this.scope.abs(path));
  }
  /** The view's own top level has the reserved names too (a `.dav` folder at a user's root stays hidden). */
  async *list(path: string): AsyncIterable<ListEntry> {
    for await (const e of this.inner.list(this.scope.abs(path))) if (path !== '/' || !isReservedName('/', e.name)) yield e;
  }
  read(path: string, range?: { start: number; end: number }): Promise<Readable> {
    return this.inner.read(this.scope.abs(path), range);
  }
  get statWithSmallBody(): StorageBackend['statWithSmallBody'] {
    const f = this.inner.statWithSmallBody;
    return f && ((path, max) => f.call(this.inner, this.scope.abs(path), max));
  }
  get openFile(): StorageBackend['openFile'] {
    const f = this.inner.openFile;
    return f && ((path) => f.call(this.inner, this.scope.abs(path)));
  }
  /** An upload of the inner backend whose commit reports this view's paths. */
  private pending(up: PendingUpload): PendingUpload {
    return {
      commit: async (current, o) => {
        const r = await up.commit(current, o);
        return { ...r, changes: this.back(r.changes) };
      },
      abort: () => up.abort(),
    };
  }
  async receive(path: string, body: Readable, opts?: ReceiveOptions): Promise<PendingUpload> {
    return this.pending(await this.inner.receive(this.scope.abs(path), body, opts));
  }
  /** Partial uploads are named by id, not path; only adopting one names a path of this view. */
  get resumable(): ResumableStaging | undefined {
    const r = this.inner.resumable;
    return r && { ...r, adopt: async (id, path) => this.pending(await r.adopt(id, this.scope.abs(path))) };
  }
  async createEmpty(path: string): Promise<TreeChange[]> {
    return this.back(await this.inner.createEmpty(this.scope.abs(path)));
  }
  async mkdir(path: string): Promise<TreeChange[]> {
    return this.back(await this.inner.mkdir(this.scope.abs(path)));
  }
  async remove(path: string): Promise<TreeResult> {
    return this.tree(await this.inner.remove(this.scope.abs(path)));
  }
  async copy(src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult> {
    return this.tree(await this.inner.copy(this.scope.abs(src), this.scope.abs(dst), opts));
  }
  async move(src: string, dst: string): Promise<TreeResult> {
    return this.tree(await this.inner.move(this.scope.abs(src), this.scope.abs(dst)));
  }
  isReserved(path: string): boolean {
    return isReservedPath(path) || this.inner.isReserved(this.scope.abs(path));
  }
  get canonicalPath(): StorageBackend['canonicalPath'] {
    const f = this.inner.canonicalPath;
    return f && (async (path) => this.scope.rel(await f.call(this.inner, this.scope.abs(path))));
  }
  get setMtime(): StorageBackend['setMtime'] {
    const f = this.inner.setMtime;
    return f && ((path, ms) => f.call(this.inner, this.scope.abs(path), ms));
  }
  get quota(): StorageBackend['quota'] {
    const f = this.inner.quota;
    return f && ((path): Promise<Quota> => f.call(this.inner, this.scope.abs(path)));
  }
  get cacheDir(): StorageBackend['cacheDir'] {
    const f = this.inner.cacheDir;
    return f && ((name) => f.call(this.inner, name));
  }
}
