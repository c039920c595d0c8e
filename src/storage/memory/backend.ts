/**
 * A StorageBackend held in memory (`--storage memory`, for demos and tests): a tree of
 * collections and files whose content is an immutable Buffer, so a COPY shares bytes and a PUT
 * swaps them whole. It proves the seam: the methods, the write spine and the side data work
 * unchanged over it, and it passes the same conformance suite as the filesystem backend
 * (test/unit/storage/conformance.ts). Uploads are collected in memory (it is all memory) and
 * become visible only on commit. Nothing survives a restart.
 */
import { Readable } from 'node:stream';
import type {
  CommitResult,
  FailedMember,
  ListEntry,
  OpenFile,
  PendingUpload,
  ReceiveOptions,
  ResourceInfo,
  StorageBackend,
  TreeResult,
} from '../backend.js';
import type { TreeChange } from '../events.js';
import { StorageError } from '../errors.js';
import { MemoryPropertyStore } from './props.js';
import { isReservedName, isReservedPath } from '../reserved.js';
import { baseName, joinPath, parentPath } from '../../dav/path.js';

/** The longest name a member may have, in UTF-8 bytes (as on common filesystems). */
const MAX_NAME_BYTES = 255;

interface FileNode {
  kind: 'file';
  data: Buffer;
  mtimeMs: number;
  birthtimeMs: number;
  /** Changes with every content write: part of the ETag, never reused. */
  version: number;
  id: number;
}

interface DirNode {
  kind: 'dir';
  children: Map<string, Node>;
  mtimeMs: number;
  birthtimeMs: number;
  version: number;
  id: number;
}

type Node = FileNode | DirNode;

export interface MemoryBackendOptions {
  /**
   * Test hook: a member that fails to be removed (`'remove'`) or copied (`'copy'`) with the
   * given kind, to exercise partial failures the way a read-only file does on disk.
   */
  failures?: Map<string, { op: 'remove' | 'copy'; kind: StorageError['kind'] }>;
}

let counter = 0;
const next = (): number => ++counter;

export class MemoryBackend implements StorageBackend {
  readonly props = new MemoryPropertyStore();
  private readonly root: DirNode;
  readonly failures: Map<string, { op: 'remove' | 'copy'; kind: StorageError['kind'] }>;

  constructor(opts: MemoryBackendOptions = {}) {
    const now = Date.now();
    this.root = { kind: 'dir', children: new Map(), mtimeMs: now, birthtimeMs: now, version: next(), id: next() };
    this.failures = opts.failures ?? new Map();
  }

  private static info(n: Node): ResourceInfo {
    return {
      isCollection: n.kind === 'dir',
      size: n.kind === 'file' ? n.data.length : 0,
      mtimeMs: n.mtimeMs,
      birthtimeMs: n.birthtimeMs,
      etag: `"m${n.id.toString(36)}-${n.version.toString(36)}"`,
      id: `m${n.id}`,
    };
  }

  private node(path: string): Node | null {
    if (path === '/') return this.root;
    let n: Node = this.root;
    for (const seg of path.slice(1).split('/')) {
      if (n.kind !== 'dir') return null;
      const c: Node | undefined = n.children.get(seg);
      if (!c) return null;
      n = c;
    }
    return n;
  }

  /** The parent collection of `path`, or 'parent-missing'. */
  private parentOf(path: string): DirNode {
    const p = this.node(parentPath(path));
    if (!p || p.kind !== 'dir') throw new StorageError('parent-missing', 'Parent collection does not exist');
    const name = baseName(path);
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new StorageError('name-too-long', 'Name longer than 255 bytes');
    return p;
  }

  private touch(dir: DirNode): void {
    dir.mtimeMs = Date.now();
    dir.version = next();
  }

  isReserved(path: string): boolean {
    return isReservedPath(path);
  }

  async canonicalPath(path: string): Promise<string> {
    if (/^[\x00-\x7f]*$/.test(path) || this.node(path)) return path;
    let dir = '/';
    const segs = path.slice(1).split('/');
    for (let i = 0; i < segs.length; i++) {
      const d = this.node(dir);
      const want = segs[i]!.normalize('NFC');
      const found = d?.kind === 'dir' ? [...d.children.keys()].find((k) => k === segs[i] || k.normalize('NFC') === want) : undefined;
      if (found === undefined) return joinPath(dir, segs.slice(i).join('/'));
      dir = joinPath(dir, found);
    }
    return dir;
  }

  async stat(path: string): Promise<ResourceInfo | null> {
    const n = this.node(path);
    return n && MemoryBackend.info(n);
  }

  async *list(path: string): AsyncIterable<ListEntry> {
    const n = this.node(path);
    if (!n) throw new StorageError('not-found', 'Not found');
    if (n.kind !== 'dir') throw new StorageError('not-collection', 'Not a collection');
    for (const [name, c] of [...n.children]) if (!isReservedName(path, name)) yield { name, info: MemoryBackend.info(c) };
  }

  private file(path: string): FileNode {
    const n = this.node(path);
    if (!n) throw new StorageError('not-found', 'Not found');
    if (n.kind !== 'file') throw new StorageError('is-collection', 'Not a regular file');
    return n;
  }

  async read(path: string, range?: { start: number; end: number }): Promise<Readable> {
    const f = this.file(path);
    return Readable.from([range ? f.data.subarray(range.start, range.end + 1) : f.data]);
  }

  async openFile(path: string): Promise<OpenFile | null> {
    const n = this.node(path);
    if (!n) return null;
    if (n.kind !== 'file') throw new StorageError('is-collection', 'Not a regular file');
    const data = n.data; // the bytes of this version, whatever replaces them meanwhile
    return {
      info: MemoryBackend.info(n),
      stream: (range) => Readable.from([range ? data.subarray(range.start, range.end + 1) : data]),
      close: async () => undefined,
    };
  }

  async receive(path: string, body: Readable, opts: ReceiveOptions = {}): Promise<PendingUpload> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        opts.observe?.(chunk);
        chunks.push(chunk);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code && /^(ERR_STREAM_PREMATURE_CLOSE|ECONNRESET|ECONNABORTED)$/.test(code)) throw new StorageError('aborted', 'Upload aborted by the client', { cause: e });
      throw e;
    }
    const data = Buffer.concat(chunks);
    return {
      commit: async (current, copts = {}): Promise<CommitResult> => {
        if (current?.isCollection) throw new StorageError('is-collection', 'Cannot PUT to a collection');
        const parent = this.parentOf(path);
        const name = baseName(path);
        const old = parent.children.get(name);
        if (old?.kind === 'dir') throw new StorageError('is-collection', 'Cannot PUT to a collection');
        const now = Date.now();
        const f: FileNode = { kind: 'file', data, mtimeMs: copts.mtimeMs ?? now, birthtimeMs: old?.birthtimeMs ?? now, version: next(), id: old?.id ?? next() };
        parent.children.set(name, f);
        if (!old) this.touch(parent);
        const changes: TreeChange[] = [old ? { type: 'replaced', path, previousId: `m${old.id}` } : { type: 'created', path, isCollection: false }];
        return { created: !old, info: MemoryBackend.info(f), changes };
      },
      abort: async () => undefined,
    };
  }

  async createEmpty(path: string): Promise<TreeChange[]> {
    const parent = this.parentOf(path);
    if (parent.children.has(baseName(path))) return [];
    const now = Date.now();
    parent.children.set(baseName(path), { kind: 'file', data: Buffer.alloc(0), mtimeMs: now, birthtimeMs: now, version: next(), id: next() });
    this.touch(parent);
    return [{ type: 'created', path, isCollection: false }];
  }

  async mkdir(path: string): Promise<TreeChange[]> {
    const parent = this.parentOf(path);
    if (parent.children.has(baseName(path))) throw new StorageError('exists', 'Resource already exists');
    const now = Date.now();
    parent.children.set(baseName(path), { kind: 'dir', children: new Map(), mtimeMs: now, birthtimeMs: now, version: next(), id: next() });
    this.touch(parent);
    return [{ type: 'created', path, isCollection: true }];
  }

  async remove(path: string): Promise<TreeResult> {
    const n = this.node(path);
    if (!n) throw new StorageError('not-found', 'Not found');
    const changes: TreeChange[] = [];
    const failed: FailedMember[] = [];
    if (this.removeInto(path, n, failed, changes)) {
      if (path !== '/') {
        const parent = this.node(parentPath(path)) as DirNode;
        parent.children.delete(baseName(path));
        this.touch(parent);
      }
      changes.push({ type: 'removed', path, isCollection: n.kind === 'dir' });
    }
    return { changes, failed };
  }

  /**
   * True when `path` may go whole (the caller unlinks it); otherwise removes the members that
   * can go, reports each (the highest subtree that went whole) and the failures.
   */
  private removeInto(path: string, n: Node, failed: FailedMember[], changes: TreeChange[]): boolean {
    const f = this.failures.get(path);
    if (f?.op === 'remove') {
      failed.push({ path, kind: f.kind });
      return false;
    }
    if (n.kind === 'file') return true;
    let ok = true;
    const gone: [string, TreeChange][] = [];
    for (const [name, c] of [...n.children]) {
      if (isReservedName(path, name)) continue;
      const child = joinPath(path, name);
      const below: TreeChange[] = [];
      if (this.removeInto(child, c, failed, below)) gone.push([name, { type: 'removed', path: child, isCollection: c.kind === 'dir' }]);
      else {
        ok = false;
        changes.push(...below);
      }
    }
    if (ok && path !== '/') return true;
    for (const [name, change] of gone) {
      n.children.delete(name);
      changes.push(change);
    }
    this.touch(n);
    return false;
  }

  /** A deep copy of `n` (files share their immutable bytes), skipping members set to fail. */
  private clone(src: string, dst: string, n: Node, recursive: boolean, failed: FailedMember[], out: { complete: boolean; parts: TreeChange[] }): Node {
    const now = Date.now();
    if (n.kind === 'file') return { ...n, birthtimeMs: now, mtimeMs: n.mtimeMs, version: next(), id: next() };
    const d: DirNode = { kind: 'dir', children: new Map(), mtimeMs: now, birthtimeMs: now, version: next(), id: next() };
    if (!recursive) return d;
    for (const [name, c] of n.children) {
      const s = joinPath(src, name);
      const t = joinPath(dst, name);
      const f = this.failures.get(s);
      if (f?.op === 'copy') {
        failed.push({ path: t, kind: f.kind });
        out.complete = false;
        continue;
      }
      const sub = { complete: true, parts: [] as TreeChange[] };
      d.children.set(name, this.clone(s, t, c, true, failed, sub));
      if (sub.complete) out.parts.push({ type: 'copied', from: s, to: t, isCollection: c.kind === 'dir', deep: c.kind === 'dir' });
      else {
        out.complete = false;
        out.parts.push({ type: 'copied', from: s, to: t, isCollection: true, deep: false }, ...sub.parts);
      }
    }
    return d;
  }

  /**
   * 9.8.4 / 9.9.3: what is at `dst` goes first (a collection through a DELETE that may fail in
   * part, which stops the operation: its result is returned); records the overwrite.
   */
  private async clearDestination(parent: DirNode, dst: string, from: Node, changes: TreeChange[]): Promise<TreeResult | null> {
    const existing = parent.children.get(baseName(dst));
    if (!existing) return null;
    if (existing.kind === 'dir' || from.kind === 'dir') {
      const removal = await this.remove(dst);
      if (removal.failed.length) return removal;
    }
    changes.push({ type: 'removed', path: dst, isCollection: existing.kind === 'dir', overwritten: true });
    return null;
  }

  async copy(src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult> {
    const from = this.node(src);
    if (!from) throw new StorageError('not-found', 'Not found');
    const parent = this.parentOf(dst);
    const failed: FailedMember[] = [];
    const out = { complete: true, parts: [] as TreeChange[] };
    const copy = this.clone(src, dst, from, opts.recursive, failed, out);
    const changes: TreeChange[] = [];
    const cleared = await this.clearDestination(parent, dst, from, changes);
    if (cleared) return cleared;
    parent.children.set(baseName(dst), copy);
    this.touch(parent);
    changes.push({ type: 'copied', from: src, to: dst, isCollection: from.kind === 'dir', deep: from.kind === 'dir' && opts.recursive && out.complete });
    if (!out.complete) changes.push(...out.parts);
    return { changes, failed };
  }

  async move(src: string, dst: string): Promise<TreeResult> {
    const from = this.node(src);
    if (!from) throw new StorageError('not-found', 'Not found');
    const parent = this.parentOf(dst);
    const changes: TreeChange[] = [];
    const cleared = await this.clearDestination(parent, dst, from, changes);
    if (cleared) return cleared;
    const srcParent = this.node(parentPath(src)) as DirNode;
    srcParent.children.delete(baseName(src));
    this.touch(srcParent);
    parent.children.set(baseName(dst), from);
    this.touch(parent);
    changes.push({ type: 'moved', from: src, to: dst, isCollection: from.kind === 'dir' });
    return { changes, failed: [] };
  }

  async setMtime(path: string, mtimeMs: number): Promise<void> {
    const n = this.node(path);
    if (!n) throw new StorageError('not-found', 'Not found');
    n.mtimeMs = mtimeMs;
    n.version = next();
  }
}
