/**
 * Dead properties on the filesystem: one JSON file per resource under `<meta>/props`, in a tree
 * that mirrors the served tree. Resource `/a/b` keeps its properties in `root.d/a.d/b.p` and
 * its members' in `root.d/a.d/b.d/`; the suffixes make the mapping injective, so a member
 * named `x.p` can never collide with the properties of `x`. Writes go to a temp file and are
 * renamed into place, so a crash never leaves a half-written file. A PROPPATCH is a
 * read-modify-write of one file: an in-process mutex orders it within this process and a lock
 * file (`<file>.lock`, O_EXCL) across processes sharing the directory, so two instances setting
 * different properties of one resource never lose either update.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DeadProperty, PropPatchOp, PropertyStore } from '../backend.js';
import { KeyedMutex } from '../../util/concurrency.js';
import { withFileLock } from '../../util/file-lock.js';
import { qkey } from '../../xml/names.js';
import { fromFsError } from '../../errors.js';

/** fs failures leave as DavErrors (ENOSPC: 507, EACCES: 403, ...) rather than as a bare 500. */
const asDav = (e: unknown): never => {
  throw fromFsError(e, 'dead property store failed');
};

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

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
    for (const seg of path.slice(1).split('/')) dir = join(dir, seg + '.d');
    return dir;
  }

  fileOf(path: string): string {
    if (path === '/') return join(this.base, 'root.p');
    const i = path.lastIndexOf('/');
    return join(this.membersDir(i === 0 ? '/' : path.slice(0, i)), path.slice(i + 1) + '.p');
  }

  async get(path: string): Promise<DeadProperty[]> {
    try {
      return JSON.parse(await fsp.readFile(this.fileOf(path), 'utf8')) as DeadProperty[];
    } catch (e) {
      if (isEnoent(e) || e instanceof SyntaxError) return [];
      throw e;
    }
  }

  async patch(path: string, ops: PropPatchOp[]): Promise<void> {
    const file = this.fileOf(path);
    await this.mutex.run(file, () => withFileLock(`${file}.lock`, async () => {
      const props = new Map((await this.get(path)).map((p) => [qkey(p.ns, p.local), p]));
      for (const op of ops) {
        if (op.op === 'set') props.set(qkey(op.prop.ns, op.prop.local), op.prop);
        else props.delete(qkey(op.ns, op.local));
      }
      if (props.size === 0) {
        await fsp.rm(file, { force: true });
        return;
      }
      await writeAtomic(file, JSON.stringify([...props.values()]));
    })).catch(asDav);
  }

  async membersWithProps(dir: string): Promise<Set<string>> {
    const names = new Set<string>();
    try {
      for (const n of await fsp.readdir(this.membersDir(dir))) if (n.endsWith('.p')) names.add(n.slice(0, -2));
    } catch (e) {
      if (!isEnoent(e)) throw e;
    }
    return names;
  }

  /** Removes the properties of `path` and of everything below it. */
  async removeTree(path: string): Promise<void> {
    await Promise.all([fsp.rm(this.fileOf(path), { force: true }), path === '/' ? undefined : fsp.rm(this.membersDir(path), { recursive: true, force: true })]).catch(asDav);
  }

  /** Moves the properties of a resource (and its members') to a new path. */
  async moveTree(src: string, dst: string): Promise<void> {
    await this.removeTree(dst);
    await renameIfPresent(this.fileOf(src), this.fileOf(dst)).catch(asDav);
    await renameIfPresent(this.membersDir(src), this.membersDir(dst)).catch(asDav);
  }

  /** Copies the properties of one resource (not its members). */
  async copyOne(src: string, dst: string): Promise<void> {
    const to = this.fileOf(dst);
    // Copy beside the target and rename: a kill mid-copy must not leave a truncated file.
    const tmp = `${to}.${randomUUID()}${ATOMIC_TMP_SUFFIX}`;
    try {
      await fsp.copyFile(this.fileOf(src), tmp);
      await fsp.rename(tmp, to);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      if (!isEnoent(e)) asDav(e);
      const from = await this.get(src);
      if (from.length === 0) return await fsp.rm(to, { force: true }).catch(asDav);
      await writeAtomic(to, JSON.stringify(from)).catch(asDav);
    }
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
  const tmp = `${file}.${randomUUID()}${ATOMIC_TMP_SUFFIX}`;
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
/** Matches the temp files writeAtomic leaves behind when killed between open and rename. */
export const ATOMIC_TMP_RE = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;
