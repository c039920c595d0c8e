/**
 * The default storage backend: a directory on disk. Each job lives in its own file: paths.ts
 * (where a DAV path lives, its stored spelling), reads.ts (stat, listings, open files),
 * uploads.ts (staged uploads), tree.ts (create, remove, copy, move), staging.ts (the staging
 * area and its owners), sweep.ts (debris of interrupted writes). This class wires them together.
 * The metadata folder `<root>/.davmeta` (dead properties, the default lock store, the staging
 * area) is on the same filesystem as the tree and never listed or addressable.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ListEntry, OpenFile, PendingUpload, Quota, ReceiveOptions, ResourceInfo, ResumableStaging, StorageBackend, TreeResult } from '../backend.js';
import type { TreeChange } from '../events.js';
import { FsPropertyStore } from './props.js';
import { fromErrno } from '../errors.js';
import * as reads from './reads.js';
import * as tree from './tree.js';
import { receive, staged } from './uploads.js';
import { RESUMABLE_DIR, Staging, type StagingOptions } from './staging.js';
import { FsPartialUploads } from './resumable.js';
import { sweepStale, type SweepReport } from './sweep.js';
import { canonicalPath, fsPathOf, isCaseInsensitive, NfcIndex } from './paths.js';
import { isReservedPath, META_DIR } from '../reserved.js';
import type { Boundary } from './worker/protocol.js';

export { META_DIR, isReservedTopName } from '../reserved.js';
export { infoFromStats } from './reads.js';
export type { SweepReport } from './sweep.js';

export interface FsBackendOptions {
  root: string;
  /** Where dead properties and the staging area are kept; defaults to `<root>/.davmeta`. */
  metaDir?: string;
  /** fsync every upload (and its directory) before answering: survives a power cut, costs time. */
  fsync?: boolean;
  staging?: StagingOptions;
  /** Start-up probe for case-insensitive names (injectable for tests). */
  caseProbe?: (dir: string) => Promise<boolean>;
  /** A view of another backend over the same tree: shares its property store and staging area. */
  shareWith?: FsBackend;
}

export class CaseInsensitiveRootError extends Error {}

export class FsBackend implements StorageBackend, tree.TreeHost {
  readonly root: string;
  readonly metaDir: string;
  readonly props: FsPropertyStore;
  readonly fsync: boolean;
  readonly staging: Staging;
  /** Non-ASCII member names by NFC form, per directory (canonicalPath). */
  readonly names: NfcIndex;
  readonly partials: FsPartialUploads;
  readonly resumable: ResumableStaging;
  private readonly caseProbe: (dir: string) => Promise<boolean>;
  private readonly stopSweep = new AbortController();
  private sweeping: Promise<unknown> | null = null;

  constructor(opts: FsBackendOptions) {
    this.root = opts.root;
    this.fsync = opts.fsync ?? false;
    this.metaDir = opts.metaDir ?? join(opts.root, META_DIR);
    this.props = opts.shareWith?.props ?? new FsPropertyStore(this.metaDir, this.root);
    this.staging = opts.shareWith?.staging ?? new Staging(this.metaDir, opts.staging);
    this.names = opts.shareWith?.names ?? new NfcIndex();
    this.partials = opts.shareWith?.partials ?? new FsPartialUploads(join(this.staging.dir, RESUMABLE_DIR), this.fsync);
    const p = this.partials;
    this.resumable = {
      create: (id) => p.create(id),
      stat: (id) => p.stat(id),
      append: (id, offset, body, o) => p.append(id, offset, body, o),
      truncate: (id, size) => p.truncate(id, size),
      read: (id, start) => p.read(id, start),
      remove: (id) => p.remove(id),
      list: () => p.list(),
      adopt: (id, path) => this.adopt(id, path),
    };
    this.caseProbe = opts.caseProbe ?? isCaseInsensitive;
  }

  async init(): Promise<void> {
    await this.props.init();
    await this.staging.init();
    await this.partials.init();
    // On a case-insensitive filesystem `/A` and `/a` are one file but two lock and property keys:
    // a different spelling could bypass a lock. Refuse to serve such a tree.
    if (await this.caseProbe(this.root)) {
      await this.staging.close();
      throw new CaseInsensitiveRootError(
        `${this.root} is on a case-insensitive filesystem (names differing only in letter case are the same file there); serve a case-sensitive directory instead`,
      );
    }
  }

  /** Removes what interrupted writes left behind (see sweep.ts); close() stops it and waits for it. */
  sweepStale(before: number, maxEntries?: number): Promise<SweepReport> {
    const run = sweepStale({ root: this.root, metaDir: this.metaDir, staging: this.staging, signal: this.stopSweep.signal }, before, maxEntries);
    this.sweeping = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    // A sweep still running would write in the metadata folder after close (its marker).
    this.stopSweep.abort();
    await this.sweeping;
    await this.staging.close();
  }

  cacheDir(name: string): string {
    return join(this.metaDir, name);
  }

  /** Overridden by the contained backend, which can confine a view to a collection. */
  confine?(scope: string): Promise<StorageBackend>;

  /** Absolute filesystem path of a DAV path (DAV paths are already contained and clean). */
  fsPath(path: string): string {
    return fsPathOf(this.root, path);
  }

  isReserved(path: string): boolean {
    return isReservedPath(path);
  }

  canonicalPath(path: string): Promise<string> {
    return canonicalPath(this.root, path, this.names);
  }

  stat(path: string): Promise<ResourceInfo | null> {
    return reads.stat(this.fsPath(path));
  }

  async *list(path: string): AsyncIterable<ListEntry> {
    for await (const e of this.listRaw(path)) yield { name: e.name, info: e.info };
  }

  /** Members with whether each is a symbolic link (the contained backend checks those). */
  listRaw(path: string): AsyncIterable<reads.RawEntry> {
    return reads.listRaw(this.fsPath(path), path);
  }

  /** Where tree walks may follow symbolic links (undefined: anywhere); the contained backend narrows it. */
  treeBoundary(): Boundary | undefined {
    return undefined;
  }

  read(path: string, range?: { start: number; end: number }): Promise<Readable> {
    return reads.read(this.fsPath(path), range);
  }

  async statWithSmallBody(path: string, max: number): Promise<{ info: ResourceInfo; body: Buffer | null } | null> {
    const r = await reads.statWithSmallBody(this.fsPath(path), max);
    if (r !== undefined) return r;
    const info = await this.stat(path);
    return info && { info, body: null };
  }

  openFile(path: string): Promise<OpenFile | null> {
    return reads.openFile(this.fsPath(path));
  }

  receive(path: string, body: Readable, opts: ReceiveOptions = {}): Promise<PendingUpload> {
    return receive({ path, file: this.fsPath(path), staging: this.staging, fsync: this.fsync }, body, opts);
  }

  /** A finished partial upload as the pending content of `path` (kept when the commit is refused). */
  async adopt(id: string, path: string): Promise<PendingUpload> {
    return staged({ path, file: this.fsPath(path), staging: this.staging, fsync: this.fsync }, this.partials.fileOf(id), false);
  }

  createEmpty(path: string): Promise<TreeChange[]> {
    return tree.createEmpty(this, path);
  }

  mkdir(path: string): Promise<TreeChange[]> {
    return tree.mkdir(this, path);
  }

  remove(path: string): Promise<TreeResult> {
    return tree.remove(this, path);
  }

  copy(src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult> {
    return tree.copy(this, src, dst, opts);
  }

  move(src: string, dst: string): Promise<TreeResult> {
    return tree.move(this, src, dst);
  }

  async setMtime(path: string, mtimeMs: number): Promise<void> {
    const p = this.fsPath(path);
    try {
      const st = await fsp.stat(p);
      await fsp.utimes(p, st.atime, new Date(mtimeMs));
    } catch (e) {
      throw fromErrno(e);
    }
  }

  async quota(_path: string): Promise<Quota> {
    const s = await fsp.statfs(this.root);
    return { availableBytes: s.bavail * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
  }
}

