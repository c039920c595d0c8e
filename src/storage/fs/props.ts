/**
 * Dead properties on the filesystem: one JSON file per resource under `<meta>/props`, in a tree
 * that mirrors the served tree. Resource `/a/b` keeps its properties in `root.d/a.d/b.p` and
 * its members' in `root.d/a.d/b.d/`; the suffixes make the mapping injective, so a member
 * named `x.p` can never collide with the properties of `x`. A name too long to take a suffix
 * (over 180 bytes: names may have 255, and temp and lock files add up to 64) is stored as `~h~<sha256 of the name>`, and its file
 * records the name itself so listings can map it back. Writes go to a temp file and are renamed
 * into place, so a crash never leaves a half-written file. A PROPPATCH is a read-modify-write of
 * one file: an in-process mutex orders it within this process and a lock file (`<file>.lock`,
 * O_EXCL) across processes sharing the directory, so two instances setting different properties
 * of one resource never lose either update.
 *
 * Tree operations (remove, move, copy) are driven by tree events (src/storage/side-data.ts):
 * MOVE is one rename of a file and one of a directory, whatever the size of the subtree.
 *
 * Each file records whose properties it holds: the resource's device, inode and (where the
 * filesystem keeps it across renames) birth time. A process killed between a tree operation and
 * the property step that follows it (a MOVE over a file, a DELETE, a COPY) leaves files that
 * name another resource; they are ignored, so properties can be lost in a crash but never
 * attach to the wrong resource. MOVE keeps the inode; COPY and PUT (a new inode renamed over the
 * old one) write the new owner into the files they carry over.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { DeadProperty, PropPatchOp, PropertyStore } from '../backend.js';
import { KeyedMutex } from '../../util/concurrency.js';
import { withFileLock } from '../../util/file-lock.js';
import { qkey } from '../../xml/names.js';
import { fromErrno } from '../errors.js';
import { OWNER_TAG } from './owner.js';
import { statWorker } from './stat-batch.js';
import { moveSideData } from './side-data.js';

/** fs failures leave as StorageErrors (ENOSPC: no-space, EACCES: forbidden, ...). */
const asStorage = (e: unknown): never => {
  throw fromErrno(e, 'dead property store failed');
};

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** Longest name kept as itself; longer ones (and names that look hashed) are stored hashed. */
const MAX_PLAIN_BYTES = 180;
const HASHED = '~h~';

/** The stored form of one path segment. */
export function storedSegment(seg: string): string {
  if (!seg.startsWith(HASHED) && Buffer.byteLength(seg) <= MAX_PLAIN_BYTES) return seg;
  return HASHED + createHash('sha256').update(seg).digest('hex');
}

/**
 * The folder that mirrors the members of DAV path `path` below `rootDir` (the mirror of `/`):
 * `/a/b` -> `<rootDir>/a.d/b.d`. Concatenated, not path.join()ed: the parts are already clean
 * (no `/` in a segment), and join() normalised the growing string again for every segment
 * (a sixth of all the bytes a small PUT allocated went there).
 */
export function mirrorDir(rootDir: string, path: string): string {
  if (path === '/') return rootDir;
  let dir = rootDir;
  for (const seg of path.slice(1).split('/')) dir += '/' + storedSegment(seg) + '.d';
  return dir;
}

/**
 * File format: `{ id, name?, props }`, `id` naming the resource (see `identity`), `name` the
 * resource's name when it is stored hashed. Files written before ids existed are a bare array
 * or `{ name, props }` and are trusted as they are.
 */
interface PropFile {
  id?: string | null;
  name?: string;
  props: DeadProperty[];
}

const isNotThere = (e: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

/** Property files up to this size are read on the fs worker (larger ones, rare, through the threadpool). */
const PROPS_READ_MAX = 256 * 1024;

export class FsPropertyStore implements PropertyStore {
  private readonly base: string;
  /** The mirror of `/`: its members' files and folders. */
  private readonly rootDir: string;
  private readonly mutex = new KeyedMutex();
  /** Whether birth times survive a rename here (statx btime; some filesystems report ctime). */
  private birthStable = false;

  /** `root`: the served tree, whose resources the files are checked against (none: no check). */
  constructor(
    metaDir: string,
    private readonly root?: string,
  ) {
    this.base = join(metaDir, 'props');
    this.rootDir = join(this.base, 'root.d');
  }

  async init(): Promise<void> {
    await fsp.mkdir(join(this.base, 'root.d'), { recursive: true });
    if (this.root) this.birthStable = await birthSurvivesRename(this.base);
  }

  /**
   * Who the resource at `path` is: `dev:ino` in base 36 (the same as ResourceInfo.id), then
   * `/birth time` where it is stable; null when nothing is there.
   */
  async identity(path: string): Promise<string | null> {
    if (!this.root) return null;
    try {
      // Followed like ResourceInfo.id, which a PUT names as the content it replaced.
      const st = await fsp.stat(path === '/' ? this.root : join(this.root, path), { bigint: true });
      const id = `${st.dev.toString(36)}:${st.ino.toString(36)}`;
      return this.birthStable && st.birthtimeNs > 0n ? `${id}/${st.birthtimeNs.toString(36)}` : id;
    } catch (e) {
      if (isNotThere(e)) return null;
      return asStorage(e);
    }
  }

  /** The properties in `data` when they belong to the resource now at `path`. */
  private async owned(path: string, data: PropFile | DeadProperty[] | null): Promise<DeadProperty[]> {
    if (!data) return [];
    if (Array.isArray(data)) return data;
    if (data.id === undefined || !this.root) return data.props;
    return data.id === (await this.identity(path)) ? data.props : [];
  }

  /** Directory holding the property files of the members of `path`. */
  membersDir(path: string): string {
    return mirrorDir(this.rootDir, path);
  }

  fileOf(path: string): string {
    if (path === '/') return join(this.base, 'root.p');
    const i = path.lastIndexOf('/');
    return this.membersDir(i === 0 ? '/' : path.slice(0, i)) + '/' + storedSegment(path.slice(i + 1)) + '.p';
  }

  private static nameOf(path: string): string {
    return path.slice(path.lastIndexOf('/') + 1);
  }

  private async readFile(file: string): Promise<DeadProperty[] | PropFile | null> {
    // Through the fs worker when it runs: the read travels with the other side-data requests of
    // the moment in one message, and a missing file (most resources have no dead properties)
    // costs no exception on this thread. Anything else (a large file, another error, no worker)
    // is read through the threadpool below, which decides.
    const r = await statWorker.readSmall(file, PROPS_READ_MAX);
    if (r?.code === 'ENOENT') return null;
    if (r && !r.code && r.body) {
      try {
        return JSON.parse(r.body.toString('utf8')) as DeadProperty[] | PropFile;
      } catch {
        return null;
      }
    }
    try {
      return JSON.parse(await fsp.readFile(file, 'utf8')) as DeadProperty[] | PropFile;
    } catch (e) {
      if (isEnoent(e) || e instanceof SyntaxError) return null;
      return asStorage(e);
    }
  }

  async get(path: string): Promise<DeadProperty[]> {
    return this.owned(path, await this.readFile(this.fileOf(path)));
  }

  /** The file content for `props` of the resource at `path`, owned by `id`. */
  private serialize(path: string, props: DeadProperty[], id: string | null): string {
    const name = FsPropertyStore.nameOf(path);
    const file: PropFile = storedSegment(name) === name || path === '/' ? { id, props } : { id, name, props };
    return JSON.stringify(this.root ? file : file.name === undefined ? props : { name, props });
  }

  async patch(path: string, ops: PropPatchOp[]): Promise<void> {
    const file = this.fileOf(path);
    await this.mutex
      .run(file, () =>
        withFileLock(`${file}.lock`, async () => {
          const props = new Map((await this.get(path)).map((p) => [qkey(p.ns, p.local), p]));
          for (const op of ops) {
            if (op.op === 'set') props.set(qkey(op.prop.ns, op.prop.local), op.prop);
            else props.delete(qkey(op.ns, op.local));
          }
          if (props.size === 0) {
            await fsp.rm(file, { force: true });
            return;
          }
          await writeAtomic(file, this.serialize(path, [...props.values()], await this.identity(path)));
        }),
      )
      .catch(asStorage);
  }

  async membersWithProps(dir: string): Promise<Set<string>> {
    const names = new Set<string>();
    const where = this.membersDir(dir);
    let entries: string[];
    try {
      entries = await fsp.readdir(where);
    } catch (e) {
      if (isEnoent(e)) return names;
      return asStorage(e);
    }
    for (const n of entries) {
      if (!n.endsWith('.p')) continue;
      if (!n.startsWith(HASHED)) {
        names.add(n.slice(0, -2));
        continue;
      }
      const data = await this.readFile(join(where, n));
      if (data && !Array.isArray(data) && data.name !== undefined) names.add(data.name);
    }
    return names;
  }

  /**
   * Removes the properties of `path` and of everything below it: one message to the fs worker
   * (most of the time there is nothing to remove: every PUT of a new file and every MKCOL asks).
   */
  async removeTree(path: string): Promise<void> {
    const paths = path === '/' ? [this.fileOf(path)] : [this.fileOf(path), this.membersDir(path)];
    const r = await statWorker.removeAll(paths);
    if (r?.code) asStorage(Object.assign(new Error(`${r.code}: ${paths[0]}`), { code: r.code }));
    if (r) return;
    await Promise.all(paths.map((p) => fsp.rm(p, { recursive: true, force: true }))).catch(asStorage);
  }

  /** Moves the properties of a resource (and its members') to a new path, replacing what was there. */
  async moveTree(src: string, dst: string): Promise<void> {
    if (dst === '/') return this.removeTree(dst); // (no MOVE reaches the root; kept total)
    // A file stored under its own name moves by rename with the rest; one stored under a hashed
    // name keeps its name inside and is rewritten after.
    const byRename = FsPropertyStore.plainName(src) && FsPropertyStore.plainName(dst);
    const pairs: [string, string][] = [[this.membersDir(src), this.membersDir(dst)]];
    if (byRename) pairs.unshift([this.fileOf(src), this.fileOf(dst)]);
    await moveSideData([this.fileOf(dst), this.membersDir(dst)], pairs, (p) => fsp.rm(p, { recursive: true, force: true })).catch(asStorage);
    if (!byRename) await this.rewriteHashed(src, dst).catch(asStorage);
  }

  /** Whether the property file of `path` is stored under the resource's own name (not hashed). */
  private static plainName(path: string): boolean {
    return path === '/' || storedSegment(FsPropertyStore.nameOf(path)) === FsPropertyStore.nameOf(path);
  }

  /**
   * A property file moved to a name stored hashed (or from one): rewritten so that it carries
   * the new name. Called after the resource moved: it is at `dst` now, with the inode it had at `src`.
   */
  private async rewriteHashed(src: string, dst: string): Promise<void> {
    const from = this.fileOf(src);
    const data = await this.readFile(from);
    const props = await this.owned(dst, data);
    if (props.length) await writeAtomic(this.fileOf(dst), this.serialize(dst, props, await this.identity(dst)));
    await fsp.rm(from, { force: true });
  }

  /**
   * The content of `path` was replaced in place by a new file (PUT): the resource, and so its
   * properties, stay; the file records the new inode. `previousId` is the replaced file's id
   * (ResourceInfo.id): properties that named another resource stay ignored.
   */
  async contentReplaced(path: string, previousId?: string): Promise<void> {
    if (!this.root || previousId === undefined) return;
    const file = this.fileOf(path);
    await this.mutex
      .run(file, async () => {
        const data = await this.readFile(file);
        if (!data || Array.isArray(data) || data.id === undefined) return;
        if (data.id === null || data.id.split('/')[0] !== previousId) return;
        await writeAtomic(file, this.serialize(path, data.props, await this.identity(path)));
      })
      .catch(asStorage);
  }

  /**
   * Copies the properties of `src` to `dst` (replacing those of `dst` and below), and with
   * `deep` those of every member below it.
   */
  async copyTree(src: string, dst: string, deep: boolean): Promise<void> {
    await this.removeTree(dst);
    await this.copyOne(src, dst);
    if (deep) await this.copyMembers(src, dst).catch(asStorage);
  }

  /**
   * Copies the property files below `src` to `dst`, each owned by the copy now at its path. Only
   * property files and member directories are looked at: lock files and temp files stay behind.
   */
  private async copyMembers(src: string, dst: string): Promise<void> {
    let entries: string[];
    try {
      entries = await fsp.readdir(this.membersDir(src));
    } catch (e) {
      if (isNotThere(e)) return;
      throw e;
    }
    let hashedDirs: Map<string, string> | null = null;
    for (const n of entries) {
      if (n.endsWith('.p')) {
        const stored = n.slice(0, -2);
        let name: string | undefined = stored;
        if (stored.startsWith(HASHED)) {
          const data = await this.readFile(join(this.membersDir(src), n));
          name = data && !Array.isArray(data) ? data.name : undefined;
        }
        if (name !== undefined) await this.copyOne(childPath(src, name), childPath(dst, name));
      } else if (n.endsWith('.d')) {
        const stored = n.slice(0, -2);
        let name: string | undefined = stored;
        if (stored.startsWith(HASHED)) {
          // A long name's folder records no name: find the member whose hash it is.
          hashedDirs ??= await this.hashedMembers(dst);
          name = hashedDirs.get(stored);
        }
        if (name !== undefined) await this.copyMembers(childPath(src, name), childPath(dst, name));
      }
    }
  }

  /** Stored (hashed) segment -> name, for the members of `path` whose names are stored hashed. */
  private async hashedMembers(path: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!this.root) return out;
    try {
      for (const n of await fsp.readdir(path === '/' ? this.root : join(this.root, path))) {
        if (storedSegment(n) !== n) out.set(storedSegment(n), n);
      }
    } catch (e) {
      if (!isNotThere(e)) throw e;
    }
    return out;
  }

  /** Copies the properties of one resource (not its members) to its copy at `dst`. */
  async copyOne(src: string, dst: string): Promise<void> {
    const props = await this.get(src);
    const to = this.fileOf(dst);
    if (props.length === 0) return void (await fsp.rm(to, { force: true }).catch(asStorage));
    await writeAtomic(to, this.serialize(dst, props, await this.identity(dst))).catch(asStorage);
  }
}

const childPath = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);

/** Whether this filesystem reports a birth time that a rename keeps (probed once, in `dir`). */
async function birthSurvivesRename(dir: string): Promise<boolean> {
  const a = join(dir, `.btime-probe.${OWNER_TAG}.${randomUUID()}${ATOMIC_TMP_SUFFIX}`);
  const b = join(dir, `.btime-probe.${OWNER_TAG}.${randomUUID()}${ATOMIC_TMP_SUFFIX}`);
  try {
    await fsp.writeFile(a, '');
    const before = await fsp.stat(a, { bigint: true });
    await new Promise((r) => setTimeout(r, 20)); // past the kernel's coarse timestamp tick
    await fsp.rename(a, b);
    const after = await fsp.stat(b, { bigint: true });
    return before.birthtimeNs > 0n && before.birthtimeNs === after.birthtimeNs && after.birthtimeNs !== after.ctimeNs;
  } catch {
    return false;
  } finally {
    await fsp.rm(a, { force: true });
    await fsp.rm(b, { force: true });
  }
}

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the old or the new
 * content: write a temp file beside it, fsync it (otherwise a power cut after the rename can
 * leave an empty file), rename it into place. Temp names end in `.tmp` and are swept at start.
 */
export async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${OWNER_TAG}.${randomUUID()}${ATOMIC_TMP_SUFFIX}`;
  let fh: FileHandle;
  try {
    fh = await fsp.open(tmp, 'wx');
  } catch (e) {
    if (!isEnoent(e)) throw e;
    await fsp.mkdir(join(file, '..'), { recursive: true });
    fh = await fsp.open(tmp, 'wx');
  }
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export const ATOMIC_TMP_SUFFIX = '.tmp';
/**
 * Matches the temp files writeAtomic leaves behind when killed between open and rename:
 * `<file>.<owner>.<uuid>.tmp` (group 1: the owner tag; earlier versions wrote no owner).
 */
export const ATOMIC_TMP_RE = /(?:\.([0-9a-f]{8}-\d+))?\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;
