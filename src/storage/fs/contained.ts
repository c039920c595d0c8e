/**
 * FsBackend that never follows a symbolic link out of its root. A link whose target stays
 * inside the root is served like its target; one that leads outside (or dangles) is refused
 * with 403 when addressed and left out of listings, so COPY of a collection cannot pull an
 * outside file in either.
 *
 * Cost on the hot path: `stat` uses lstat (the same one syscall as before) and only follows
 * with realpath when the entry is a link; the directories on the way are checked with
 * realpath once and then trusted for `dirTtlMs`. This defends against links present in the
 * tree; it is not a defence against a local user racing renames inside the served directory.
 */
import { promises as fsp } from 'node:fs';
import { join, sep } from 'node:path';
import { FsBackend, type FsBackendOptions } from './backend.js';
import { lstat } from './reads.js';
import { SMALL_UPLOAD } from './uploads.js';
import type { ListEntry, OpenFile, PendingUpload, ReceiveOptions, ResourceInfo, TreeResult } from '../backend.js';
import type { TreeChange } from '../events.js';
import type { Readable } from 'node:stream';
import { fromErrno, StorageError } from '../errors.js';
import type { Boundary } from './worker/protocol.js';
import { isSelfOrDescendant, joinPath, parentPath } from '../../dav/path.js';

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const outside = (): StorageError => new StorageError('forbidden', 'Symbolic link leads outside the served directory');

export class ContainedFsBackend extends FsBackend {
  private realRoot = '';
  private readonly okDirs = new Map<string, number>();
  private readonly dirTtlMs: number;
  /** The collection this view is confined to ('/': the whole tree). */
  private scope = '/';

  constructor(opts: FsBackendOptions & { dirTtlMs?: number }) {
    super(opts);
    this.dirTtlMs = opts.dirTtlMs ?? 2000;
  }

  /**
   * A view of this backend (same paths, same property store and staging area) that refuses any
   * symlink leading out of `scope`: the boundary of a user whose root is `scope`.
   */
  override async confine(scope: string): Promise<ContainedFsBackend> {
    let real: string;
    try {
      real = await fsp.realpath(this.fsPath(scope));
    } catch (e) {
      throw fromErrno(e);
    }
    if (!this.inside(real)) throw outside();
    const view = new ContainedFsBackend({ root: this.root, metaDir: this.metaDir, fsync: this.fsync, dirTtlMs: this.dirTtlMs, shareWith: this });
    view.realRoot = real;
    view.realMeta = this.realMeta;
    view.realTree = this.realTree;
    view.scope = scope;
    return view;
  }

  override async init(): Promise<void> {
    await super.init();
    this.realRoot = await fsp.realpath(this.root);
    this.realTree = this.realRoot;
    this.realMeta = await fsp.realpath(this.metaDir);
  }

  /** Real path of the served tree (paths are relative to it; realRoot is the boundary, narrower in a confined view). */
  private realTree = '';

  /** Real path of the metadata folder: nothing may reach it through a link. */
  private realMeta = '';

  /** Real path of the served root (symlinks resolved). */
  get realRootPath(): string {
    return this.realRoot;
  }

  private inside(real: string): boolean {
    if (this.realMeta && (real === this.realMeta || real.startsWith(this.realMeta + sep))) return false;
    return real === this.realRoot || real.startsWith(this.realRoot.endsWith(sep) ? this.realRoot : this.realRoot + sep);
  }

  /** True when collection `dir` (if it exists) really lies inside the root. */
  private async dirOk(dir: string): Promise<boolean> {
    // The root, and in a confined view the scope's ancestors (checked once by confine()).
    if (dir === '/' || isSelfOrDescendant(this.scope, dir)) return true;
    const now = Date.now();
    const until = this.okDirs.get(dir);
    if (until !== undefined && until > now) return true;
    let real: string;
    try {
      real = await fsp.realpath(this.fsPath(dir));
    } catch (e) {
      const c = code(e);
      // Nothing there: whatever the method does fails with 404/409 on its own.
      if (c === 'ENOENT' || c === 'ENOTDIR') return true;
      throw fromErrno(e);
    }
    if (!this.inside(real)) return false;
    // A path that resolves to an ancestor of itself goes through a link to an ancestor: a loop.
    const lexical = join(this.realTree, dir);
    if (real !== lexical && lexical.startsWith(real.endsWith(sep) ? real : real + sep)) return false;
    if (this.okDirs.size > 10_000) this.okDirs.clear();
    this.okDirs.set(dir, now + this.dirTtlMs);
    return true;
  }

  /**
   * True when the link at `path` resolves to something inside the root (never the metadata
   * folder) that is not an ancestor of the link itself: a link to `.`, `..` or the root is a
   * loop by construction (and would reach the metadata folder under another name).
   */
  async linkOk(path: string): Promise<boolean> {
    try {
      const real = await fsp.realpath(this.fsPath(path));
      if (!this.inside(real)) return false;
      const parent = await fsp.realpath(this.fsPath(parentPath(path)));
      return !(parent === real || parent.startsWith(real.endsWith(sep) ? real : real + sep));
    } catch {
      return false; // dangling or looping
    }
  }

  /** 403 when `path` or a collection on the way to it is a link leading outside the root. */
  async contain(path: string): Promise<void> {
    if (path === '/') return;
    if (!(await this.dirOk(parentPath(path)))) throw outside();
    let isLink = false;
    try {
      isLink = (await lstat(this.fsPath(path)))?.link ?? false;
    } catch {
      return;
    }
    if (isLink && !(await this.linkOk(path))) throw outside();
  }

  override async stat(path: string): Promise<ResourceInfo | null> {
    if (path !== '/' && !(await this.dirOk(parentPath(path)))) throw outside();
    const l = await lstat(this.fsPath(path));
    if (!l?.link) return l?.info ?? null;
    if (!(await this.linkOk(path))) throw outside();
    return super.stat(path);
  }

  override async *list(path: string): AsyncIterable<ListEntry> {
    await this.contain(path);
    for await (const e of this.listRaw(path)) {
      if (e.link && !(await this.linkOk(joinPath(path, e.name)))) continue;
      yield { name: e.name, info: e.info };
    }
  }

  override treeBoundary(): Boundary {
    return { root: this.realRoot, meta: this.realMeta };
  }

  override async read(path: string, range?: { start: number; end: number }): Promise<Readable> {
    await this.contain(path);
    return super.read(path, range);
  }

  override async openFile(path: string): Promise<OpenFile | null> {
    await this.contain(path);
    return super.openFile(path);
  }

  override async receive(path: string, body: Readable, opts: ReceiveOptions = {}): Promise<PendingUpload> {
    // A body is only ever written into the staging area; what protects the tree is the stat of
    // the target (this backend's, which refuses a link leading out) that every commit is given.
    // Checking the target here too only saves receiving a large body that would be refused: a
    // small one of known length is not worth the extra lstat (one per PUT of a small file).
    if (opts.length !== undefined && opts.length <= SMALL_UPLOAD) {
      if (path !== '/' && !(await this.dirOk(parentPath(path)))) throw outside();
    } else await this.contain(path);
    return super.receive(path, body, opts);
  }

  override async adopt(id: string, path: string): Promise<PendingUpload> {
    await this.contain(path);
    return super.adopt(id, path);
  }

  override async statWithSmallBody(path: string, max: number): Promise<{ info: ResourceInfo; body: Buffer | null } | null> {
    // The fs worker opens the last component with O_NOFOLLOW (a link falls back to stat(),
    // which checks it), so only the directories on the way need checking (cached realpaths).
    if (path !== '/' && !(await this.dirOk(parentPath(path)))) throw outside();
    return super.statWithSmallBody(path, max);
  }

  override async createEmpty(path: string): Promise<TreeChange[]> {
    await this.contain(path);
    return super.createEmpty(path);
  }

  override async mkdir(path: string): Promise<TreeChange[]> {
    await this.contain(path);
    return super.mkdir(path);
  }

  override async remove(path: string): Promise<TreeResult> {
    // The target itself is checked by the walk (a link: linkOk below).
    if (path !== '/' && !(await this.dirOk(parentPath(path)))) throw outside();
    return super.remove(path);
  }

  // COPY and MOVE stat both ends first (src/storage/fs/tree.ts), and this backend's stat refuses
  // a link leading out of the tree at either end: no second look is needed here.

  override async setMtime(path: string, mtimeMs: number): Promise<void> {
    await this.contain(path);
    return super.setMtime(path, mtimeMs);
  }
}
