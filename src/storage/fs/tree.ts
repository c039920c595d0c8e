/**
 * Tree operations of the filesystem backend: create, remove, copy and move, each reporting
 * exactly what changed (src/storage/events.ts) and which members failed. A COPY is built in the
 * staging area and renamed into place, so readers never see a partial copy and a kill mid-COPY
 * leaves the destination absent (or, over an existing file, the old file). Tree walks follow
 * symlinks that stay inside the root (the contained backend filters the others out of list()),
 * so they remember the collections on the way down: a link to an ancestor is a loop (508), and
 * no walk goes deeper than MAX_TREE_DEPTH.
 */
import { constants as fsc, promises as fsp, type Stats } from 'node:fs';
import type { FailedMember, ListEntry, ResourceInfo, TreeResult } from '../backend.js';
import type { TreeChange } from '../events.js';
import { fromErrno, StorageError, type StorageErrorKind } from '../errors.js';
import { forEachBounded } from '../../util/concurrency.js';
import { joinPath } from '../../dav/path.js';
import { errnoOf } from './reads.js';
import { renameInto } from './uploads.js';
import { isReservedName } from '../reserved.js';
import type { Staging } from './staging.js';

import { MAX_TREE_DEPTH } from '../walk.js';

const TREE_PARALLEL = 16;

/** What tree operations need from the backend (its contained versions of stat and list). */
export interface TreeHost {
  fsPath(path: string): string;
  stat(path: string): Promise<ResourceInfo | null>;
  list(path: string): AsyncIterable<ListEntry>;
  readonly staging: Staging;
}

const kindOf = (e: unknown): StorageErrorKind => (e instanceof StorageError ? e.kind : fromErrno(e).kind);

export async function mkdir(h: TreeHost, path: string): Promise<TreeChange[]> {
  try {
    await fsp.mkdir(h.fsPath(path));
  } catch (e) {
    const c = errnoOf(e);
    if (c === 'EEXIST') throw new StorageError('exists', 'Resource already exists', { errno: c });
    if (c === 'ENOENT' || c === 'ENOTDIR') throw new StorageError('parent-missing', 'Parent collection does not exist', { errno: c });
    throw fromErrno(e);
  }
  return [{ type: 'created', path, isCollection: true }];
}

export async function createEmpty(h: TreeHost, path: string): Promise<TreeChange[]> {
  try {
    await (await fsp.open(h.fsPath(path), 'wx')).close();
  } catch (e) {
    const c = errnoOf(e);
    if (c === 'EEXIST') return [];
    if (c === 'ENOENT' || c === 'ENOTDIR') throw new StorageError('parent-missing', 'Parent collection does not exist', { errno: c });
    throw fromErrno(e);
  }
  return [{ type: 'created', path, isCollection: false }];
}

/** Deletes a file or a tree (symlinks themselves, never their targets). */
export async function remove(h: TreeHost, path: string): Promise<TreeResult> {
  const changes: TreeChange[] = [];
  const failed: FailedMember[] = [];
  let st: Stats;
  try {
    st = await fsp.lstat(h.fsPath(path));
  } catch (e) {
    throw fromErrno(e);
  }
  if (await removeInto(h, path, st, failed, changes)) changes.push({ type: 'removed', path, isCollection: st.isDirectory() });
  return { changes, failed };
}

/**
 * Depth-first delete; true when `path` is gone. Members that fail are reported and keep their
 * ancestors (RFC 4918 9.6.1); a collection that stays reports each member that went.
 */
async function removeInto(h: TreeHost, path: string, st: Stats, failed: FailedMember[], changes: TreeChange[]): Promise<boolean> {
  const p = h.fsPath(path);
  if (!st.isDirectory()) {
    try {
      await fsp.unlink(p);
      return true;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return true;
      failed.push({ path, kind: kindOf(e) });
      return false;
    }
  }
  let names: string[];
  try {
    names = await fsp.readdir(p);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return true;
    failed.push({ path, kind: kindOf(e) });
    return false;
  }
  let ok = true;
  const gone: TreeChange[] = [];
  await forEachBounded(names, TREE_PARALLEL, async (name) => {
    if (isReservedName(path, name)) return;
    const child = joinPath(path, name);
    let cst: Stats;
    try {
      cst = await fsp.lstat(h.fsPath(child));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return;
      failed.push({ path: child, kind: kindOf(e) });
      ok = false;
      return;
    }
    if (await removeInto(h, child, cst, failed, changes)) gone.push({ type: 'removed', path: child, isCollection: cst.isDirectory() });
    else ok = false;
  });
  if (ok && path !== '/') {
    try {
      await fsp.rmdir(p);
      return true;
    } catch (e) {
      failed.push({ path, kind: kindOf(e) });
    }
  }
  changes.push(...gone);
  return false;
}

/** A copied resource: whether all of it (members included) arrived, and what of it did when not. */
interface CopyNode {
  from: string;
  to: string;
  isCollection: boolean;
  /** Its members were copied too (COPY with Depth infinity). */
  recursive: boolean;
  complete: boolean;
  /** Members that arrived, when not complete. */
  kids: CopyNode[];
}

export async function copy(h: TreeHost, src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult> {
  const from = await h.stat(src);
  if (!from) throw new StorageError('not-found', 'Not found');
  const existing = await h.stat(dst);
  const staged = h.staging.newPath();
  const failed: FailedMember[] = [];
  let root: CopyNode;
  try {
    root = await copyInto(h, src, dst, staged, from, opts.recursive, failed, new Set(), 0);
  } catch (e) {
    await fsp.rm(staged, { recursive: true, force: true });
    throw e;
  }
  const changes: TreeChange[] = [];
  try {
    if (existing && (existing.isCollection || from.isCollection)) {
      // 9.8.4: an existing destination is deleted first; if that fails in part, nothing is copied.
      const removal = await remove(h, dst);
      if (removal.failed.length) {
        await fsp.rm(staged, { recursive: true, force: true });
        return removal;
      }
      changes.push({ type: 'removed', path: dst, isCollection: existing.isCollection, overwritten: true });
    }
    await renameInto(staged, h.fsPath(dst));
    if (existing && changes.length === 0) changes.push({ type: 'removed', path: dst, isCollection: false, overwritten: true });
  } catch (e) {
    await fsp.rm(staged, { recursive: true, force: true });
    if (changes.length) return { changes, failed: [{ path: dst, kind: kindOf(e) }] };
    const c = errnoOf(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') throw new StorageError('parent-missing', 'Destination parent collection does not exist', { errno: c });
    throw fromErrno(e);
  }
  pushCopied(root, changes);
  return { changes, failed };
}

function pushCopied(n: CopyNode, out: TreeChange[]): void {
  out.push({ type: 'copied', from: n.from, to: n.to, isCollection: n.isCollection, deep: n.complete && n.isCollection && n.recursive });
  if (!n.complete) for (const k of n.kids) pushCopied(k, out);
}

/**
 * Copies `src` to the filesystem path `target` (inside the staging area); `dst` is the DAV path
 * it will have. Failed members are reported under their destination path and left out.
 */
async function copyInto(
  h: TreeHost,
  src: string,
  dst: string,
  target: string,
  info: ResourceInfo,
  recursive: boolean,
  failed: FailedMember[],
  ancestors: Set<string>,
  depth: number,
): Promise<CopyNode> {
  const node: CopyNode = { from: src, to: dst, isCollection: info.isCollection, recursive, complete: true, kids: [] };
  if (!info.isCollection) {
    await copyFileNoBlock(h.fsPath(src), target);
    return node;
  }
  await fsp.mkdir(target);
  if (!recursive) return node;
  const members: ListEntry[] = [];
  for await (const m of h.list(src)) members.push(m);
  const below = new Set(ancestors);
  if (info.id) below.add(info.id);
  await forEachBounded(members, TREE_PARALLEL, async (m) => {
    const s = joinPath(src, m.name);
    const d = joinPath(dst, m.name);
    if (m.info.isCollection && ((m.info.id && below.has(m.info.id)) || depth + 1 > MAX_TREE_DEPTH)) {
      failed.push({ path: d, kind: 'loop' });
      node.complete = false;
      return;
    }
    try {
      node.kids.push(await copyInto(h, s, d, `${target}/${m.name}`, m.info, true, failed, below, depth + 1));
      if (!node.kids[node.kids.length - 1]!.complete) node.complete = false;
    } catch (e) {
      // A member that vanished meanwhile (deleted outside WebDAV) was not there to copy.
      if (errnoOf(e) === 'ENOENT' && !(await h.stat(s).catch(() => null))) return;
      failed.push({ path: d, kind: kindOf(e) });
      node.complete = false;
    }
  });
  if (node.complete) node.kids = []; // all of it arrived: one event says so
  return node;
}

/**
 * copyFile, except that the source must be a regular file: a FIFO or device is never opened
 * (copyFile would block a threadpool thread on a FIFO forever).
 */
async function copyFileNoBlock(from: string, to: string): Promise<void> {
  const fh = await fsp.open(from, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) throw new StorageError('special-file', 'Not a regular file');
  } finally {
    await fh.close();
  }
  await fsp.copyFile(from, to, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL);
}

export async function move(h: TreeHost, src: string, dst: string): Promise<TreeResult> {
  const from = await h.stat(src);
  if (!from) throw new StorageError('not-found', 'Not found');
  const existing = await h.stat(dst);
  const changes: TreeChange[] = [];
  if (existing && (existing.isCollection || from.isCollection)) {
    const removal = await remove(h, dst);
    if (removal.failed.length) return removal;
    changes.push({ type: 'removed', path: dst, isCollection: existing.isCollection, overwritten: true });
  }
  try {
    // rename(2) replaces a file target atomically and moves a whole tree at once.
    await fsp.rename(h.fsPath(src), h.fsPath(dst));
  } catch (e) {
    const c = errnoOf(e);
    if (c === 'EXDEV') {
      const copied = await copy(h, src, dst, { recursive: true });
      if (copied.failed.length) return { changes: [...changes, ...copied.changes], failed: copied.failed };
      const removed = await remove(h, src);
      return { changes: [...changes, ...copied.changes, ...removed.changes], failed: removed.failed };
    }
    const err = c === 'ENOENT' || c === 'ENOTDIR' ? new StorageError('parent-missing', 'Destination parent collection does not exist', { errno: c }) : fromErrno(e);
    if (changes.length) return { changes, failed: [{ path: dst, kind: err.kind }] };
    throw err;
  }
  if (existing && changes.length === 0) changes.push({ type: 'removed', path: dst, isCollection: false, overwritten: true });
  changes.push({ type: 'moved', from: src, to: dst, isCollection: from.isCollection });
  return { changes, failed: [] };
}
