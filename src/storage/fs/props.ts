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

/** File format of a hashed name: the name itself beside the properties. */
interface HashedFile {
  name: string;
  props: DeadProperty[];
}

export class FsPropertyStore implements PropertyStore {
  private readonly base: string;
  private readonly mutex = new KeyedMutex();

  constructor(metaDir: string) {
    this.base = join(metaDir, 'props');
  }

  async init(): Promise<void> {
    await fsp.mkdir(join(this.base, 'root.d'), { recursive: true });
  }

  /** Directory holding the property files of the members of `path`. */
  membersDir(path: string): string {
    if (path === '/') return join(this.base, 'root.d');
    let dir = join(this.base, 'root.d');
    for (const seg of path.slice(1).split('/')) dir = join(dir, storedSegment(seg) + '.d');
    return dir;
  }

  fileOf(path: string): string {
    if (path === '/') return join(this.base, 'root.p');
    const i = path.lastIndexOf('/');
    return join(this.membersDir(i === 0 ? '/' : path.slice(0, i)), storedSegment(path.slice(i + 1)) + '.p');
  }

  private static nameOf(path: string): string {
    return path.slice(path.lastIndexOf('/') + 1);
  }

  private async readFile(file: string): Promise<DeadProperty[] | HashedFile | null> {
    try {
      return JSON.parse(await fsp.readFile(file, 'utf8')) as DeadProperty[] | HashedFile;
    } catch (e) {
      if (isEnoent(e) || e instanceof SyntaxError) return null;
      return asStorage(e);
    }
  }

  async get(path: string): Promise<DeadProperty[]> {
    const data = await this.readFile(this.fileOf(path));
    if (!data) return [];
    return Array.isArray(data) ? data : data.props;
  }

  private serialize(path: string, props: DeadProperty[]): string {
    const name = FsPropertyStore.nameOf(path);
    return storedSegment(name) === name || path === '/' ? JSON.stringify(props) : JSON.stringify({ name, props } satisfies HashedFile);
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
          await writeAtomic(file, this.serialize(path, [...props.values()]));
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
      if (data && !Array.isArray(data)) names.add(data.name);
    }
    return names;
  }

  /** Removes the properties of `path` and of everything below it. */
  async removeTree(path: string): Promise<void> {
    await Promise.all([fsp.rm(this.fileOf(path), { force: true }), path === '/' ? undefined : fsp.rm(this.membersDir(path), { recursive: true, force: true })]).catch(asStorage);
  }

  /** Moves the properties of a resource (and its members') to a new path, replacing what was there. */
  async moveTree(src: string, dst: string): Promise<void> {
    await this.removeTree(dst);
    await this.renameFile(src, dst).catch(asStorage);
    await renameIfPresent(this.membersDir(src), this.membersDir(dst)).catch(asStorage);
  }

  /** A property file moved or copied to another name: a hashed file carries the new name. */
  private async renameFile(src: string, dst: string): Promise<void> {
    const from = this.fileOf(src);
    const to = this.fileOf(dst);
    const plain = (p: string): boolean => p === '/' || storedSegment(FsPropertyStore.nameOf(p)) === FsPropertyStore.nameOf(p);
    if (plain(src) && plain(dst)) return renameIfPresent(from, to);
    const props = await this.get(src);
    if (props.length) await writeAtomic(to, this.serialize(dst, props));
    await fsp.rm(from, { force: true });
  }

  /**
   * Copies the properties of `src` to `dst` (replacing those of `dst` and below), and with
   * `deep` those of every member below it.
   */
  async copyTree(src: string, dst: string, deep: boolean): Promise<void> {
    await this.removeTree(dst);
    await this.copyOne(src, dst);
    if (!deep) return;
    try {
      // Only property files and member directories: lock files and temp files stay behind.
      await fsp.cp(this.membersDir(src), this.membersDir(dst), { recursive: true, filter: (p) => !p.endsWith('.lock') && !p.endsWith(ATOMIC_TMP_SUFFIX) });
    } catch (e) {
      if (!isEnoent(e)) asStorage(e);
    }
  }

  /** Copies the properties of one resource (not its members). */
  async copyOne(src: string, dst: string): Promise<void> {
    const props = await this.get(src);
    const to = this.fileOf(dst);
    if (props.length === 0) return void (await fsp.rm(to, { force: true }).catch(asStorage));
    await writeAtomic(to, this.serialize(dst, props)).catch(asStorage);
  }
}

async function renameIfPresent(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (e) {
    if (isEnoent(e)) {
      // Either nothing to move, or the target's parent directory is missing.
      try {
        await fsp.access(from);
      } catch {
        return;
      }
      await fsp.mkdir(join(to, '..'), { recursive: true });
      await fsp.rename(from, to);
      return;
    }
    throw e;
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
