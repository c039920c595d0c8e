/**
 * Tree walks on the fs worker: DELETE and COPY of a collection run their syscalls back to back
 * here instead of paying a threadpool hand-off (and a promise) per member on the event loop.
 * Each walk is a generator that yields after every syscall, so the worker's scheduler
 * (thread.ts) can interleave several walks and the small requests arriving meanwhile. They report
 * exactly what src/storage/fs/tree.ts's threadpool versions report: every change, in order, and
 * every member that failed (RFC 4918 9.6.1: a member that fails keeps its ancestors).
 */
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, opendirSync, openSync, readSync, readlinkSync, realpathSync, rmdirSync, statSync, unlinkSync, writeSync, copyFileSync, type Dir, type Dirent, type Stats } from 'node:fs';
import { isReservedName } from '../../reserved.js';
import { kindOfErrno } from '../../errors.js';
import { MAX_TREE_DEPTH } from '../../walk.js';
import type { Boundary, CopyTreeRequest, RemoveTreeRequest, TreeReply, WalkChange, WalkFailure } from './protocol.js';
import { errnoOf, idOf } from './stats.js';
import { dirname } from 'node:path';

/** A walk step: yields after each syscall, returns its result. */
export type Walk<T> = Generator<void, T, void>;

const joinDav = (dir: string, name: string): string => (dir === '/' ? '/' + name : `${dir}/${name}`);

/** A failure of our own making (not an errno): carries its storage kind. */
class KindError extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}
/** A member turned out to be a link leading out of the boundary: left out, like those seen when listed (a source: not found). */
class LeadsOut extends Error {
  readonly code = 'ENOENT';
  constructor() {
    super('a symbolic link that leads out of the root');
  }
}

const kindOfError = (e: unknown): string => (e instanceof KindError ? e.kind : kindOfErrno(errnoOf(e)));

/** Reads the members of an open directory in parts, so a huge directory is never held whole. */
function* members(dir: Dir): Generator<Dirent, void, void> {
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) yield d;
  } finally {
    try {
      dir.closeSync();
    } catch {
      // already closed
    }
  }
}

// ---- DELETE ----------------------------------------------------------------------------------

export function* removeTree({ id, file, path, noLink }: RemoveTreeRequest): Walk<TreeReply> {
  const changes: WalkChange[] = [];
  const failed: WalkFailure[] = [];
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    return { id, changes, failed, code: errnoOf(e) };
  }
  if (noLink && st.isSymbolicLink()) return { id, changes, failed, code: 'ELINK' };
  if (yield* removeInto(file, path, st.isDirectory(), failed, changes)) changes.push({ type: 'removed', path, isCollection: st.isDirectory() });
  return { id, changes, failed };
}

/**
 * Depth-first delete; true when `path` is gone. The type of each member comes from its directory
 * entry (no lstat per file); a member whose type changed meanwhile is looked at again.
 */
function* removeInto(file: string, path: string, isDir: boolean, failed: WalkFailure[], changes: WalkChange[]): Walk<boolean> {
  if (!isDir) {
    try {
      unlinkSync(file);
      yield;
      return true;
    } catch (e) {
      const c = errnoOf(e);
      if (c === 'ENOENT') return true;
      // A directory now (EISDIR on Linux, EPERM elsewhere): delete it as one.
      if ((c === 'EISDIR' || c === 'EPERM') && isDirectoryNow(file)) return yield* removeInto(file, path, true, failed, changes);
      failed.push({ path, kind: kindOfErrno(c) });
      return false;
    }
  }
  // Opened without following a link: a folder swapped for a link since its entry was read is
  // removed as the link it now is, never what it leads to. Its members are then named through
  // the open descriptor (/proc/<pid>/fd/N/name, see fdPath), so renaming the folder away and putting a link
  // in its place cannot send the unlinks below it out of the root either.
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | DIRECTORY | NOFOLLOW);
  } catch (e) {
    const c = errnoOf(e);
    if (c === 'ENOENT') return true;
    if (c === 'ENOTDIR' || c === 'ELOOP') return yield* removeInto(file, path, false, failed, changes);
    failed.push({ path, kind: kindOfErrno(c) });
    return false;
  }
  let ok = true;
  const gone: WalkChange[] = [];
  try {
    const base = PROC_FD ? fdPath(fd) : file;
    const dir = opendirSync(base, { bufferSize: 1024 });
    for (const d of members(dir)) {
      if (isReservedName(path, d.name)) continue;
      const child = joinDav(path, d.name);
      const childDir = d.isDirectory();
      if (yield* removeInto(`${base}/${d.name}`, child, childDir, failed, changes)) gone.push({ type: 'removed', path: child, isCollection: childDir });
      else ok = false;
    }
  } catch (e) {
    // reading the directory failed part way: what is left stays
    failed.push({ path, kind: kindOfError(e) });
    ok = false;
  } finally {
    closeSync(fd);
  }
  if (ok && path !== '/') {
    try {
      rmdirSync(file);
      yield;
      return true;
    } catch (e) {
      failed.push({ path, kind: kindOfErrno(errnoOf(e)) });
    }
  }
  changes.push(...gone);
  return false;
}

function isDirectoryNow(file: string): boolean {
  try {
    return lstatSync(file).isDirectory();
  } catch {
    return false;
  }
}

// ---- COPY ------------------------------------------------------------------------------------

/** A copied resource: whether all of it (members included) arrived, and what of it did when not. */
interface CopyNode {
  from: string;
  to: string;
  isCollection: boolean;
  complete: boolean;
  /** Members that arrived, when not complete. */
  kids: CopyNode[];
}

/** Files up to this size are copied through one reused buffer; larger ones by copyFile (reflinks, copy_file_range). */
const COPY_BUFFER = 1024 * 1024;
let copyBuffer: Buffer | undefined;
const UMASK = process.umask();

export function* copyTree(r: CopyTreeRequest): Walk<TreeReply> {
  const failed: WalkFailure[] = [];
  const ancestors = new Set<string>(r.srcId ? [r.srcId] : []);
  let root: CopyNode;
  try {
    root = yield* copyInto(r, r.src, r.from, r.to, r.target, r.isCollection, r.recursive, failed, ancestors, 0);
  } catch (e) {
    return { id: r.id, changes: [], failed, code: e instanceof KindError ? e.kind : errnoOf(e) };
  }
  const changes: WalkChange[] = [];
  pushCopied(root, r.recursive, changes);
  return { id: r.id, changes, failed };
}

/** A Depth 0 copy of a collection is never deep (only the root can be one: members exist only when recursive). */
function pushCopied(n: CopyNode, recursive: boolean, out: WalkChange[]): void {
  out.push({ type: 'copied', from: n.from, to: n.to, isCollection: n.isCollection, deep: n.complete && n.isCollection && recursive });
  if (!n.complete) for (const k of n.kids) pushCopied(k, recursive, out);
}

/**
 * Copies `src` (DAV path `from`) to the filesystem path `target` (inside the staging area); `to`
 * is the DAV path it will have. Failed members are reported under their destination path and
 * left out; a failure of `src` itself is thrown.
 */
function* copyInto(
  r: CopyTreeRequest,
  src: string,
  from: string,
  to: string,
  target: string,
  isCollection: boolean,
  recursive: boolean,
  failed: WalkFailure[],
  ancestors: ReadonlySet<string>,
  depth: number,
  /** `src` was reached through a symbolic link (checked against the boundary when opened). */
  linked = false,
): Walk<CopyNode> {
  const node: CopyNode = { from, to, isCollection, complete: true, kids: [] };
  if (!isCollection) {
    copyRegular(src, target, r.bound ?? null, linked);
    yield;
    return node;
  }
  // Like DELETE's walk: the folder is opened (without following a link unless it was reached
  // through one, which is then checked on the descriptor) before its copy is made, and its
  // members are named through that descriptor, so a folder swapped for a link while the walk
  // runs leads nowhere else.
  const fd = recursive ? openDirectory(src, r.bound ?? null, linked) : -1;
  try {
    mkdirSync(target);
    yield;
    if (!recursive) return node;
    const base = PROC_FD ? fdPath(fd) : src;
    yield* copyMembers(r, base, from, to, target, node, failed, ancestors, depth);
  } finally {
    if (fd !== -1) closeSync(fd);
  }
  if (node.complete) node.kids = []; // all of it arrived: one event says so
  return node;
}

/** Opens a source folder of the COPY walk (see copyInto); LeadsOut when it is a link out of the boundary now. */
function openDirectory(src: string, bound: Boundary | null, linked: boolean): number {
  let fd: number;
  try {
    fd = openSync(src, constants.O_RDONLY | DIRECTORY | (bound && !linked ? NOFOLLOW : 0));
  } catch (e) {
    if (errnoOf(e) !== 'ELOOP' || !bound || linked) throw e;
    if (!linkOk(src, dirname(src), bound)) throw new LeadsOut();
    return openDirectory(src, bound, true);
  }
  if (bound && linked && !openedInside(fd, bound)) {
    closeSync(fd);
    throw new LeadsOut();
  }
  return fd;
}

function* copyMembers(
  r: CopyTreeRequest,
  src: string,
  from: string,
  to: string,
  target: string,
  node: CopyNode,
  failed: WalkFailure[],
  ancestors: ReadonlySet<string>,
  depth: number,
): Walk<void> {
  const dir = opendirSync(src, { bufferSize: 1024 });
  for (const d of members(dir)) {
    if (isReservedName(from, d.name)) continue;
    const s = `${src}/${d.name}`;
    const f = joinDav(from, d.name);
    const t = joinDav(to, d.name);
    // What a listing shows: links followed (inside the boundary), dangling and special members
    // left out. A member the directory lists as a regular file (not a link) needs no stat here:
    // copyRegular checks the descriptor it opens (one syscall of eight per file saved).
    let isDir = false;
    let below = ancestors;
    let link = false;
    if (!d.isFile()) {
      // lstat first: a member listed as a directory and swapped for a link since is seen as the
      // link it now is, and checked against the boundary like one.
      let st: Stats | undefined;
      try {
        st = lstatSync(s, { throwIfNoEntry: false });
        link = st?.isSymbolicLink() ?? false;
        if (link) st = statSync(s, { throwIfNoEntry: false });
      } catch {
        st = undefined;
      }
      yield;
      if (!st || !(st.isFile() || st.isDirectory())) continue;
      if (r.bound && link && !linkOk(s, src, r.bound)) continue;
      isDir = st.isDirectory();
      if (isDir) {
        const id = idOf(st);
        if (ancestors.has(id) || depth + 1 > MAX_TREE_DEPTH) {
          failed.push({ path: t, kind: 'loop' });
          node.complete = false;
          continue;
        }
        below = new Set(ancestors).add(id);
      }
    }
    try {
      const kid = yield* copyInto(r, s, f, t, `${target}/${d.name}`, isDir, true, failed, below, depth + 1, link);
      node.kids.push(kid);
      if (!kid.complete) node.complete = false;
    } catch (e) {
      // A member that vanished meanwhile (deleted outside WebDAV) was not there to copy, and one
      // that became a link out of the root is left out as such links are.
      if (e instanceof LeadsOut || (errnoOf(e) === 'ENOENT' && !existsNow(s))) continue;
      failed.push({ path: t, kind: kindOfError(e) });
      node.complete = false;
    }
  }
}

function existsNow(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies one regular file to a new name (never over an existing one), keeping its mode. The
 * source is opened without blocking and checked to be a regular file first, so a FIFO swapped
 * in meanwhile never ties up the worker. With a boundary, a member that was no link when its
 * directory was read is opened without following one (a link swapped in since answers ELOOP and
 * is then checked like any link), a link's target is checked on the open descriptor itself, and
 * the bytes are copied from that descriptor: a local user racing the walk cannot make it copy a
 * file from outside the root.
 */
function copyRegular(from: string, to: string, bound: Boundary | null, linked: boolean): void {
  let fd: number;
  try {
    fd = openSync(from, constants.O_RDONLY | constants.O_NONBLOCK | (bound && !linked ? NOFOLLOW : 0));
  } catch (e) {
    if (errnoOf(e) !== 'ELOOP' || !bound || linked) throw e;
    // A link now: like any link met on the walk, only when it leads inside the boundary.
    if (!linkOk(from, dirname(from), bound)) throw new LeadsOut();
    return copyRegular(from, to, bound, true);
  }
  let out = -1;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KindError('special-file');
    if (bound && linked && !openedInside(fd, bound)) throw new LeadsOut();
    if (st.size > COPY_BUFFER && PROC_FD) {
      // The kernel's copy (reflink or copy_file_range) of the checked descriptor: its
      // /proc/<pid>/fd name opens that same file, whatever the path names now.
      copyFileSync(fdPath(fd), to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      return;
    }
    const mode = st.mode & 0o7777;
    out = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    if ((mode & ~UMASK) !== mode) fchmodSync(out, mode);
    const buf = (copyBuffer ??= Buffer.allocUnsafeSlow(COPY_BUFFER));
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      for (let o = 0; o < n; ) o += writeSync(out, buf, o, n - o);
      // A short read of a small regular file is its end: no need to ask again.
      if (n < buf.length && st.size <= COPY_BUFFER) break;
    }
  } finally {
    if (out !== -1) closeSync(out);
    closeSync(fd);
  }
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const DIRECTORY = constants.O_DIRECTORY ?? 0;
/**
 * The name of open descriptor `fd` under /proc: through the process id rather than /proc/self,
 * one symbolic link fewer to resolve for every member a walk names through its folder's descriptor.
 */
const PROC_FDS = `/proc/${process.pid}/fd/`;
const fdPath = (fd: number): string => PROC_FDS + fd;

/**
 * Whether fdPath names this process's open descriptors (Linux with its own /proc; not where
 * /proc is missing, or is another PID namespace's): an open of `/` must be found there as the
 * same file. Otherwise the walks go by path, as before.
 */
const PROC_FD = (() => {
  let fd = -1;
  try {
    fd = openSync('/', constants.O_RDONLY | DIRECTORY);
    const a = fstatSync(fd);
    const b = statSync(fdPath(fd));
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  } finally {
    if (fd !== -1) closeSync(fd);
  }
})();

/** True when the file open as `fd` lies inside the boundary (as far as this system can tell). */
function openedInside(fd: number, b: Boundary): boolean {
  if (!PROC_FD) return true; // checked by path before the open (linkOk), as before
  try {
    return inside(readlinkSync(fdPath(fd)), b);
  } catch {
    return false;
  }
}

/**
 * True when the link at `file` (a member of directory `dir`) resolves inside the boundary, never
 * into the metadata folder, and not to an ancestor of itself (a loop by construction): the same
 * rule as the contained backend's listings (src/storage/fs/contained.ts).
 */
function linkOk(file: string, dir: string, b: Boundary): boolean {
  try {
    const real = realpathSync.native(file);
    if (!inside(real, b)) return false;
    const parent = realpathSync.native(dir);
    return !(parent === real || parent.startsWith(real.endsWith('/') ? real : real + '/'));
  } catch {
    return false; // dangling or looping
  }
}

function inside(real: string, b: Boundary): boolean {
  if (b.meta && (real === b.meta || real.startsWith(b.meta + '/'))) return false;
  return real === b.root || real.startsWith(b.root.endsWith('/') ? b.root : b.root + '/');
}
